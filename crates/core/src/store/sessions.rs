//! Admin sessions as stored (`admin_sessions`, node-wide): a row per signed-in browser,
//! keyed by the digest of its cookie secret.

use roster_entity::admin_session;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};

use crate::admins::AdminId;
use crate::time::Timestamp;

/// A stored session: whose it is and when it ends.
pub(crate) struct SessionRow {
    pub admin: AdminId,
    pub csrf_token: String,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Stores a session just opened (`id` is the digest of its cookie secret).
pub(crate) async fn insert_session(
    conn: &impl ConnectionTrait,
    id: String,
    admin: AdminId,
    csrf_token: String,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), DbErr> {
    admin_session::ActiveModel {
        id: Set(id),
        admin_id: Set(admin.0),
        csrf_token: Set(csrf_token),
        created_at: Set(now.as_micros()),
        last_seen_at: Set(now.as_micros()),
        expires_at: Set(expires_at.as_micros()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The session stored under `id`, if any.
pub(crate) async fn session(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<SessionRow>, DbErr> {
    Ok(admin_session::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(|row| SessionRow {
            admin: AdminId(row.admin_id),
            csrf_token: row.csrf_token,
            last_seen_at: Timestamp::from_micros(row.last_seen_at),
            expires_at: Timestamp::from_micros(row.expires_at),
        }))
}

/// Deletes the session stored under `id` (nothing when there is none).
pub(crate) async fn delete_session(conn: &impl ConnectionTrait, id: String) -> Result<(), DbErr> {
    admin_session::Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Deletes every session of everyone that expired at or before `now`.
pub(crate) async fn delete_expired_sessions(
    conn: &impl ConnectionTrait,
    now: Timestamp,
) -> Result<(), DbErr> {
    admin_session::Entity::delete_many()
        .filter(admin_session::Column::ExpiresAt.lte(now.as_micros()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes every session of one admin.
pub(crate) async fn delete_sessions_of(
    conn: &impl ConnectionTrait,
    admin: AdminId,
) -> Result<(), DbErr> {
    admin_session::Entity::delete_many()
        .filter(admin_session::Column::AdminId.eq(admin.0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records that the session stored under `id` was seen at `now`.
pub(crate) async fn touch_session(
    conn: &impl ConnectionTrait,
    id: &str,
    now: Timestamp,
) -> Result<(), DbErr> {
    admin_session::Entity::update_many()
        .col_expr(
            admin_session::Column::LastSeenAt,
            sea_orm::sea_query::Expr::value(now.as_micros()),
        )
        .filter(admin_session::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
