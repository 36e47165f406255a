//! The tenant-scoped handle: the only way provisioning code reaches users and groups.

use roster_entity::{group, group_member, user, user_email};
use sea_orm::{ColumnTrait, DeleteMany, EntityTrait, QueryFilter, Select, UpdateMany};
use uuid::Uuid;

use crate::tenants::TenantId;

/// Queries on one tenant's users and groups. Every select, update and delete it builds
/// carries `tenant_id = <tenant>`; there is no other constructor of such queries in the
/// provisioning code.
#[derive(Clone, Copy, Debug)]
pub struct TenantScope {
    tenant: TenantId,
}

impl TenantScope {
    pub(crate) fn new(tenant: TenantId) -> Self {
        Self { tenant }
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
