//! Invitations of a tenant's admins as stored (`admin_invitations`, tenant-owned): every
//! statement carries the tenant, but for the lookup by a link's secret, which is how the
//! tenant is learnt.

use roster_entity::admin_invitation;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::admins::AdminId;
use crate::invitations::{InvitationId, PendingInvitation};
use crate::store::TenantScope;
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// An invitation found by its link, with the tenant it invites to.
pub(crate) struct InvitationRow {
    pub tenant: TenantId,
    pub invitation: PendingInvitation,
}

/// An invitation to store.
pub(crate) struct NewInvitation<'a> {
    pub email: &'a str,
    pub email_lower: String,
    pub secret_digest: String,
    pub created_by: Option<AdminId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

fn pending_of(row: admin_invitation::Model) -> PendingInvitation {
    PendingInvitation {
        id: InvitationId(row.id),
        email: row.email,
        created_at: Timestamp::from_micros(row.created_at),
        expires_at: Timestamp::from_micros(row.expires_at),
    }
}

/// Deletes the tenant's invitations of this (lower-cased) email and those expired by `now`.
pub(crate) async fn delete_replaced_invitations(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    email_lower: &str,
    now: Timestamp,
) -> Result<(), DbErr> {
    admin_invitation::Entity::delete_many()
        .filter(admin_invitation::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(
            admin_invitation::Column::EmailLower
                .eq(email_lower)
                .or(admin_invitation::Column::ExpiresAt.lte(now.as_micros())),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// How many invitations the tenant has stored.
pub(crate) async fn count_invitations(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<u64, DbErr> {
    admin_invitation::Entity::find()
        .filter(admin_invitation::Column::TenantId.eq(scope.tenant_uuid()))
        .count(conn)
        .await
}

/// Stores an invitation of the tenant (a unique violation when its email was just
/// invited); returns its id.
pub(crate) async fn insert_invitation(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    new: NewInvitation<'_>,
) -> Result<InvitationId, DbErr> {
    let row = admin_invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_uuid()),
        email: Set(new.email.to_owned()),
        email_lower: Set(new.email_lower),
        secret_digest: Set(new.secret_digest),
        created_by: Set(new.created_by.map(|admin| admin.0)),
        created_at: Set(new.created_at.as_micros()),
        expires_at: Set(new.expires_at.as_micros()),
    }
    .insert(conn)
    .await?;
    Ok(InvitationId(row.id))
}

/// The tenant's invitations still open after `now`, oldest first.
pub(crate) async fn pending_invitations(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    now: Timestamp,
) -> Result<Vec<PendingInvitation>, DbErr> {
    Ok(admin_invitation::Entity::find()
        .filter(admin_invitation::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(admin_invitation::Column::ExpiresAt.gt(now.as_micros()))
        .order_by_asc(admin_invitation::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(pending_of)
        .collect())
}

/// One invitation of the tenant, if any.
pub(crate) async fn invitation(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: InvitationId,
) -> Result<Option<PendingInvitation>, DbErr> {
    Ok(admin_invitation::Entity::find_by_id(id.0)
        .filter(admin_invitation::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
        .map(pending_of))
}

/// Deletes one invitation of the tenant.
pub(crate) async fn delete_invitation(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: InvitationId,
) -> Result<(), DbErr> {
    admin_invitation::Entity::delete_by_id(id.0)
        .filter(admin_invitation::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Uses an invitation of the tenant up: deletes it if still open at `now`; returns
/// whether it was.
pub(crate) async fn use_invitation(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: InvitationId,
    now: Timestamp,
) -> Result<bool, DbErr> {
    let used = admin_invitation::Entity::delete_many()
        .filter(admin_invitation::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(admin_invitation::Column::Id.eq(id.0))
        .filter(admin_invitation::Column::ExpiresAt.gt(now.as_micros()))
        .exec(conn)
        .await?;
    Ok(used.rows_affected > 0)
}

/// The invitation whose link's secret has this digest, in whichever tenant.
pub(crate) async fn invitation_by_secret(
    conn: &impl ConnectionTrait,
    secret_digest: &str,
) -> Result<Option<InvitationRow>, DbErr> {
    Ok(admin_invitation::Entity::find()
        .filter(admin_invitation::Column::SecretDigest.eq(secret_digest))
        .one(conn)
        .await?
        .map(|row| InvitationRow {
            tenant: TenantId(row.tenant_id),
            invitation: pending_of(row),
        }))
}
