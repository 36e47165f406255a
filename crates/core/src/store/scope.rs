//! The tenant-scoped handle: every store function that reads or writes a tenant-owned
//! table takes one, and every statement it builds carries its tenant.
//!
//! A scope is opened from what proves the tenant — an admin's [`TenantAccess`], a
//! request's [`RequestContext`], an [`AuthenticatedToken`] — or, for work that starts
//! from a stored row (a job, an invitation or setup link found by its secret's digest,
//! a token's last-use stamp, the startup backfill), from that row's tenant with
//! [`TenantScope::of_stored`]. Nothing a request sends can name the tenant of a scope.

use roster_entity::{group, group_member, user, user_email};
use sea_orm::{ColumnTrait, DeleteMany, EntityTrait, QueryFilter, Select, UpdateMany};
use uuid::Uuid;

use crate::memberships::TenantAccess;
use crate::provisioning::RequestContext;
use crate::tenants::TenantId;
use crate::token_auth::AuthenticatedToken;

/// Queries on one tenant's users and groups. Every select, update and delete it builds
/// carries `tenant_id = <tenant>`; there is no other constructor of such queries in the
/// provisioning code.
#[derive(Clone, Copy, Debug)]
pub struct TenantScope {
    tenant: TenantId,
}

impl From<&TenantAccess> for TenantScope {
    fn from(access: &TenantAccess) -> Self {
        Self::new(access.id())
    }
}

impl From<&RequestContext> for TenantScope {
    fn from(ctx: &RequestContext) -> Self {
        Self::new(ctx.tenant_id)
    }
}

impl From<&AuthenticatedToken> for TenantScope {
    fn from(token: &AuthenticatedToken) -> Self {
        Self::new(token.tenant_id())
    }
}

impl TenantScope {
    pub(super) fn new(tenant: TenantId) -> Self {
        Self { tenant }
    }

    /// The scope of a tenant the caller has already established: read from a stored row
    /// (a job, a link or invitation found by its secret's digest, a session, a token),
    /// passed down from a `TenantAccess` or a token further up the call, or a system
    /// task's over every tenant — never a tenant that request input names. The call
    /// sites are few (`grep -rn of_stored`) and each says where its tenant comes from.
    pub(crate) fn of_stored(tenant: TenantId) -> Self {
        Self::new(tenant)
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub(crate) fn tenant_uuid(&self) -> Uuid {
        self.tenant.0
    }

    pub(crate) fn users(&self) -> Select<user::Entity> {
        user::Entity::find().filter(user::Column::TenantId.eq(self.tenant.0))
    }

    pub(crate) fn user(&self, id: Uuid) -> Select<user::Entity> {
        self.users().filter(user::Column::Id.eq(id))
    }

    pub(crate) fn update_users(&self) -> UpdateMany<user::Entity> {
        user::Entity::update_many().filter(user::Column::TenantId.eq(self.tenant.0))
    }

    /// The update of the user `id` if it is still at `version` (a write's guard).
    pub(crate) fn update_user_at(&self, id: Uuid, version: i64) -> UpdateMany<user::Entity> {
        self.update_users()
            .filter(user::Column::Id.eq(id))
            .filter(user::Column::Version.eq(version))
    }

    pub(crate) fn delete_users(&self) -> DeleteMany<user::Entity> {
        user::Entity::delete_many().filter(user::Column::TenantId.eq(self.tenant.0))
    }

    pub(crate) fn delete_user_emails(&self) -> DeleteMany<user_email::Entity> {
        user_email::Entity::delete_many().filter(user_email::Column::TenantId.eq(self.tenant.0))
    }

    pub(crate) fn groups(&self) -> Select<group::Entity> {
        group::Entity::find().filter(group::Column::TenantId.eq(self.tenant.0))
    }

    pub(crate) fn group(&self, id: Uuid) -> Select<group::Entity> {
        self.groups().filter(group::Column::Id.eq(id))
    }

    pub(crate) fn update_groups(&self) -> UpdateMany<group::Entity> {
        group::Entity::update_many().filter(group::Column::TenantId.eq(self.tenant.0))
    }

    pub(crate) fn delete_groups(&self) -> DeleteMany<group::Entity> {
        group::Entity::delete_many().filter(group::Column::TenantId.eq(self.tenant.0))
    }

    pub(crate) fn members(&self) -> Select<group_member::Entity> {
        group_member::Entity::find().filter(group_member::Column::TenantId.eq(self.tenant.0))
    }

    pub(crate) fn delete_members(&self) -> DeleteMany<group_member::Entity> {
        group_member::Entity::delete_many().filter(group_member::Column::TenantId.eq(self.tenant.0))
    }
}
