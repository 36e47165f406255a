//! A user's reads, its insert, update, deletion and emails.

use std::collections::HashSet;

use roster_entity::{group, group_member, user, user_email};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{GroupRow, UserRow, affects_one};
use crate::store::columns::UserColumns;
use crate::store::writes::{Guard, Writes};
use crate::store::{Database, TenantScope};

/// Email rows per insert statement: 6 values each, well under every driver's limit.
const EMAIL_ROWS_PER_STATEMENT: usize = 100;

/// The user `id` of the tenant.
pub(crate) async fn user(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Option<UserRow>, DbErr> {
    Ok(scope.user(id).one(conn).await?.map(UserRow::from))
}

/// The user `id` with its groups, in one query (a LEFT JOIN): one element, or none.
pub(crate) async fn user_with_groups(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Vec<(UserRow, Vec<GroupRow>)>, DbErr> {
    let rows = scope
        .user(id)
        .find_with_related(group::Entity)
        .all(conn)
        .await?;
    Ok(super::users_with_groups(rows))
}

/// The userName of the user `id`, if it exists.
pub(crate) async fn user_name(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Option<String>, DbErr> {
    scope
        .user(id)
        .select_only()
        .column(user::Column::UserName)
        .into_tuple()
        .one(conn)
        .await
}

/// At most two users with this userName (folded) or externalId, other than `except`.
pub(crate) async fn user_conflicts(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    cols: &UserColumns,
    except: Option<Uuid>,
) -> Result<Vec<UserRow>, DbErr> {
    let mut same = user::Column::UserNameLower.eq(cols.user_name_lower.clone());
    if let Some(external_id) = &cols.external_id {
        same = same.or(user::Column::ExternalId.eq(external_id.clone()));
    }
    let mut query = scope.users().filter(same);
    if let Some(except) = except {
        query = query.filter(user::Column::Id.ne(except));
    }
    Ok(query
        .limit(2)
        .all(conn)
        .await?
        .into_iter()
        .map(UserRow::from)
        .collect())
}

/// The users whose folded userName is one of `names`.
pub(crate) async fn users_named(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    names: &[String],
) -> Result<Vec<UserRow>, DbErr> {
    users_where(conn, scope, user::Column::UserNameLower, names).await
}

/// The users whose product reference is one of `refs`.
pub(crate) async fn users_with_refs(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    refs: &[String],
) -> Result<Vec<UserRow>, DbErr> {
    users_where(conn, scope, user::Column::ProductRef, refs).await
}

/// The users whose `column` is one of `values`.
async fn users_where(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    column: user::Column,
    values: &[String],
) -> Result<Vec<UserRow>, DbErr> {
    Ok(scope
        .users()
        .filter(column.is_in(values.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(UserRow::from)
        .collect())
}

/// The groups one user is a member of: `(id, displayName, externalId)`.
pub(crate) async fn groups_of_user(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    user_id: Uuid,
) -> Result<Vec<(Uuid, String, Option<String>)>, DbErr> {
    scope
        .groups()
        .select_only()
        .column(group::Column::Id)
        .column(group::Column::DisplayName)
        .column(group::Column::ExternalId)
        .inner_join(group_member::Entity)
        .filter(group_member::Column::UserId.eq(user_id))
        .into_tuple()
        .all(conn)
        .await
}

/// Pushes the insert of a new user, then of its emails.
pub(crate) fn insert_user(
    writes: &mut Writes,
    scope: TenantScope,
    row: &UserRow,
    cols: &UserColumns,
) {
    writes.push(&user::Entity::insert(user::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(scope.tenant_uuid()),
        user_name: Set(row.user_name.clone()),
        user_name_lower: Set(row.user_name_lower.clone()),
        external_id: Set(row.external_id.clone()),
        display_name: Set(row.display_name.clone()),
        display_name_lower: Set(row.display_name_lower.clone()),
        primary_email_lower: Set(row.primary_email_lower.clone()),
        active: Set(row.active),
        doc: Set(row.doc.clone()),
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
        notifications: Set(row.notifications.clone()),
        hosts: Set(row.hosts.clone()),
        product_ref: Set(row.product_ref.clone()),
    }));
    let emails = cols.email_rows(scope.tenant(), row.id);
    for chunk in emails.chunks(EMAIL_ROWS_PER_STATEMENT) {
        writes.push(&user_email::Entity::insert_many(chunk.to_vec()));
    }
}

/// The update of a user to `row` (its document, indexed columns, hosts, version and
/// time), guarded by the version `old_version` it was computed from.
pub(crate) fn update_user(
    db: &Database,
    scope: TenantScope,
    old_version: i64,
    row: &UserRow,
) -> Guard {
    affects_one(
        db,
        &scope
            .update_user_at(row.id, old_version)
            .col_expr(user::Column::Doc, Expr::value(row.doc.clone()))
            .col_expr(user::Column::Version, Expr::value(row.version))
            .col_expr(user::Column::UpdatedAt, Expr::value(row.updated_at))
            .col_expr(user::Column::UserName, Expr::value(row.user_name.clone()))
            .col_expr(
                user::Column::UserNameLower,
                Expr::value(row.user_name_lower.clone()),
            )
            .col_expr(
                user::Column::ExternalId,
                Expr::value(row.external_id.clone()),
            )
            .col_expr(
                user::Column::DisplayName,
                Expr::value(row.display_name.clone()),
            )
            .col_expr(
                user::Column::DisplayNameLower,
                Expr::value(row.display_name_lower.clone()),
            )
            .col_expr(
                user::Column::PrimaryEmailLower,
                Expr::value(row.primary_email_lower.clone()),
            )
            .col_expr(user::Column::Active, Expr::value(row.active))
            .col_expr(user::Column::Hosts, Expr::value(row.hosts.clone())),
    )
}

/// Pushes the replacement of a user's emails by `cols.emails`: an upsert by position,
/// then the deletion of the positions past the list's end. The two touch different
/// rows, so they may share one statement (PostgreSQL runs the parts of a statement in
/// no set order).
pub(crate) fn replace_user_emails(
    writes: &mut Writes,
    scope: TenantScope,
    user_id: Uuid,
    cols: &UserColumns,
) {
    let emails = cols.email_rows(scope.tenant(), user_id);
    for chunk in emails.chunks(EMAIL_ROWS_PER_STATEMENT) {
        writes.push(
            &user_email::Entity::insert_many(chunk.to_vec()).on_conflict(
                OnConflict::columns([user_email::Column::UserId, user_email::Column::Position])
                    .update_columns([
                        user_email::Column::ValueLower,
                        user_email::Column::TypeLower,
                        user_email::Column::IsPrimary,
                    ])
                    .to_owned(),
            ),
        );
    }
    let kept = i32::try_from(cols.emails.len()).unwrap_or(i32::MAX);
    writes.push(
        &scope
            .delete_user_emails()
            .filter(user_email::Column::UserId.eq(user_id))
            .filter(user_email::Column::Position.gte(kept)),
    );
}

/// The setting of a user's product reference (with its new version and time), guarded
/// by the version `old_version` it was computed from.
pub(crate) fn link_user(
    db: &Database,
    scope: TenantScope,
    old_version: i64,
    row: &UserRow,
) -> Guard {
    affects_one(
        db,
        &scope
            .update_user_at(row.id, old_version)
            .col_expr(
                user::Column::ProductRef,
                Expr::value(row.product_ref.clone()),
            )
            .col_expr(user::Column::Version, Expr::value(row.version))
            .col_expr(user::Column::UpdatedAt, Expr::value(row.updated_at)),
    )
}

/// The deletion of a user's memberships, returning their groups: a guard that they are
/// exactly `expected` (group ids as text).
pub(crate) fn delete_memberships_of(
    db: &Database,
    scope: TenantScope,
    user_id: Uuid,
    expected: HashSet<String>,
) -> Guard {
    Guard::Returns(
        db.build(
            Query::delete()
                .from_table(group_member::Entity)
                .and_where(Expr::col(group_member::Column::TenantId).eq(scope.tenant_uuid()))
                .and_where(Expr::col(group_member::Column::UserId).eq(user_id))
                .returning_col(group_member::Column::GroupId),
        ),
        expected,
    )
}

/// The deletion of a user, guarded by the version it was read at.
pub(crate) fn delete_user(db: &Database, scope: TenantScope, id: Uuid, version: i64) -> Guard {
    affects_one(
        db,
        &scope
            .delete_users()
            .filter(user::Column::Id.eq(id))
            .filter(user::Column::Version.eq(version)),
    )
}
