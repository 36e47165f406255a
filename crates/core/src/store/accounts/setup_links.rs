//! Setup links and their sessions as stored (`setup_links`, `setup_sessions`, both
//! tenant-owned): every statement carries the tenant, but for the lookups by a link's or a
//! cookie's secret, which is how the tenant is learnt, and the end of a session by its
//! cookie.

use roster_entity::{setup_link, setup_session};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::admins::AdminId;
use crate::setup_links::{Abilities, SetupLinkId, SetupLinkInfo};
use crate::store::TenantScope;
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// A link found by its secret, with its tenant.
pub(crate) struct SetupLinkRow {
    pub tenant: TenantId,
    pub link: SetupLinkInfo,
}

/// A link to store.
pub(crate) struct NewSetupLink<'a> {
    pub label: &'a str,
    pub secret_digest: String,
    pub abilities: Abilities,
    pub created_by: AdminId,
    pub created_by_name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A setup session as stored.
pub(crate) struct SetupSessionRow {
    pub link: SetupLinkId,
    pub tenant: TenantId,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
}

fn info_of(row: setup_link::Model) -> SetupLinkInfo {
    SetupLinkInfo {
        id: SetupLinkId(row.id),
        label: row.label,
        abilities: Abilities::from_stored(&row.abilities),
        created_by: row.created_by_name,
        created_at: Timestamp::from_micros(row.created_at),
        expires_at: Timestamp::from_micros(row.expires_at),
        revoked_at: row.revoked_at.map(Timestamp::from_micros),
        last_used_at: row.last_used_at.map(Timestamp::from_micros),
        uses: u64::try_from(row.uses).unwrap_or(0),
    }
}

/// How many of the tenant's links are live at `now` (neither revoked nor expired).
pub(crate) async fn count_live_links(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    now: Timestamp,
) -> Result<u64, DbErr> {
    setup_link::Entity::find()
        .filter(setup_link::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(setup_link::Column::RevokedAt.is_null())
        .filter(setup_link::Column::ExpiresAt.gt(now.as_micros()))
        .count(conn)
        .await
}

/// Stores a link of the tenant; returns it as stored.
pub(crate) async fn insert_link(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    new: NewSetupLink<'_>,
) -> Result<SetupLinkInfo, DbErr> {
    let row = setup_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_uuid()),
        label: Set(new.label.to_owned()),
        secret_digest: Set(new.secret_digest),
        abilities: Set(new.abilities.stored()),
        created_by: Set(Some(new.created_by.0)),
        created_by_name: Set(new.created_by_name),
        created_at: Set(new.created_at.as_micros()),
        expires_at: Set(new.expires_at.as_micros()),
        revoked_at: Set(None),
        last_used_at: Set(None),
        uses: Set(0),
    };
    Ok(info_of(row.insert(conn).await?))
}

/// The tenant's newest links, at most `limit`.
pub(crate) async fn links(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    limit: u64,
) -> Result<Vec<SetupLinkInfo>, DbErr> {
    Ok(setup_link::Entity::find()
        .filter(setup_link::Column::TenantId.eq(scope.tenant_uuid()))
        .order_by_desc(setup_link::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(info_of)
        .collect())
}

/// One link of the tenant, if any.
pub(crate) async fn link(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: SetupLinkId,
) -> Result<Option<SetupLinkInfo>, DbErr> {
    Ok(setup_link::Entity::find_by_id(id.0)
        .filter(setup_link::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
        .map(info_of))
}

/// Marks a link of the tenant revoked at `now` unless it already is; returns whether it
/// was revoked now.
pub(crate) async fn revoke_link(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: SetupLinkId,
    now: Timestamp,
) -> Result<bool, DbErr> {
    let revoked = setup_link::Entity::update_many()
        .col_expr(setup_link::Column::RevokedAt, Expr::value(now.as_micros()))
        .filter(setup_link::Column::Id.eq(id.0))
        .filter(setup_link::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(setup_link::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(revoked.rows_affected == 1)
}

/// Counts a use of a link of the tenant at `now`, if it is still live; returns whether
/// it was.
pub(crate) async fn count_link_use(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: SetupLinkId,
    now: Timestamp,
) -> Result<bool, DbErr> {
    let counted = setup_link::Entity::update_many()
        .col_expr(
            setup_link::Column::Uses,
            Expr::col(setup_link::Column::Uses).add(1),
        )
        .col_expr(setup_link::Column::LastUsedAt, Expr::value(now.as_micros()))
        .filter(setup_link::Column::Id.eq(id.0))
        .filter(setup_link::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(setup_link::Column::RevokedAt.is_null())
        .filter(setup_link::Column::ExpiresAt.gt(now.as_micros()))
        .exec(conn)
        .await?;
    Ok(counted.rows_affected != 0)
}

/// The link whose secret has this digest, in whichever tenant.
pub(crate) async fn link_by_secret(
    conn: &impl ConnectionTrait,
    secret_digest: &str,
) -> Result<Option<SetupLinkRow>, DbErr> {
    Ok(setup_link::Entity::find()
        .filter(setup_link::Column::SecretDigest.eq(secret_digest))
        .one(conn)
        .await?
        .map(|row| SetupLinkRow {
            tenant: TenantId(row.tenant_id),
            link: info_of(row),
        }))
}

/// Stores a setup session of the tenant opened with a link at `now` (`id` is the
/// digest of its cookie secret).
pub(crate) async fn insert_setup_session(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: String,
    link: SetupLinkId,
    csrf_token: String,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), DbErr> {
    setup_session::ActiveModel {
        id: Set(id),
        link_id: Set(link.0),
        tenant_id: Set(scope.tenant_uuid()),
        csrf_token: Set(csrf_token),
        created_at: Set(now.as_micros()),
        expires_at: Set(expires_at.as_micros()),
        last_seen_at: Set(now.as_micros()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Deletes the setup sessions of every tenant that ended at or before `now` (by the
/// `expires_at` index): each new setup session sweeps those before it, so the table
/// holds the live ones and at most a sweep's worth of others.
pub(crate) async fn delete_expired_setup_sessions(
    conn: &impl ConnectionTrait,
    now: Timestamp,
) -> Result<(), DbErr> {
    setup_session::Entity::delete_many()
        .filter(setup_session::Column::ExpiresAt.lte(now.as_micros()))
        .exec(conn)
        .await?;
    Ok(())
}

/// The setup session stored under `id` (its cookie's digest), in whichever tenant.
pub(crate) async fn setup_session(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<SetupSessionRow>, DbErr> {
    Ok(setup_session::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(|row| SetupSessionRow {
            link: SetupLinkId(row.link_id),
            tenant: TenantId(row.tenant_id),
            csrf_token: row.csrf_token,
            expires_at: Timestamp::from_micros(row.expires_at),
            last_seen_at: Timestamp::from_micros(row.last_seen_at),
        }))
}

/// Records that a setup session of the tenant was seen at `now`.
pub(crate) async fn touch_setup_session(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: &str,
    now: Timestamp,
) -> Result<(), DbErr> {
    setup_session::Entity::update_many()
        .col_expr(
            setup_session::Column::LastSeenAt,
            Expr::value(now.as_micros()),
        )
        .filter(setup_session::Column::Id.eq(id))
        .filter(setup_session::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the setup sessions one link of the tenant opened.
pub(crate) async fn delete_link_sessions(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    link: SetupLinkId,
) -> Result<(), DbErr> {
    setup_session::Entity::delete_many()
        .filter(setup_session::Column::LinkId.eq(link.0))
        .filter(setup_session::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the setup session stored under `id` (its cookie's digest), if any.
pub(crate) async fn delete_setup_session(
    conn: &impl ConnectionTrait,
    id: String,
) -> Result<(), DbErr> {
    setup_session::Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}
