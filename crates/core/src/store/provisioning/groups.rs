//! A group's reads, its insert, update and deletion.

use roster_entity::group;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{GroupRow, affects_one};
use crate::store::columns::GroupColumns;
use crate::store::writes::{Guard, Writes};
use crate::store::{Database, TenantScope};

/// The group `id` of the tenant.
pub(crate) async fn group(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Option<GroupRow>, DbErr> {
    Ok(scope.group(id).one(conn).await?.map(GroupRow::from))
}

/// A group with this displayName (folded) or externalId, other than `except`.
pub(crate) async fn group_conflict(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    cols: &GroupColumns,
    except: Option<Uuid>,
) -> Result<Option<GroupRow>, DbErr> {
    let mut same = group::Column::DisplayNameLower.eq(cols.display_name_lower.clone());
    if let Some(external_id) = &cols.external_id {
        same = same.or(group::Column::ExternalId.eq(external_id.clone()));
    }
    let mut query = scope.groups().filter(same);
    if let Some(except) = except {
        query = query.filter(group::Column::Id.ne(except));
    }
    Ok(query.one(conn).await?.map(GroupRow::from))
}

/// Pushes the insert of a new group.
pub(crate) fn insert_group(writes: &mut Writes, scope: TenantScope, row: &GroupRow) {
    writes.push(&group::Entity::insert(group::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(scope.tenant_uuid()),
        display_name: Set(row.display_name.clone()),
        display_name_lower: Set(row.display_name_lower.clone()),
        external_id: Set(row.external_id.clone()),
        doc: Set(row.doc.clone()),
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    }));
}

/// The update of a group to `row` (document, indexed columns, version and time),
/// guarded by the version `old_version` it was computed from.
pub(crate) fn update_group(
    db: &Database,
    scope: TenantScope,
    old_version: i64,
    row: &GroupRow,
) -> Guard {
    affects_one(
        db,
        &scope
            .update_groups()
            .filter(group::Column::Id.eq(row.id))
            .filter(group::Column::Version.eq(old_version))
            .col_expr(group::Column::Doc, Expr::value(row.doc.clone()))
            .col_expr(
                group::Column::DisplayName,
                Expr::value(row.display_name.clone()),
            )
            .col_expr(
                group::Column::DisplayNameLower,
                Expr::value(row.display_name_lower.clone()),
            )
            .col_expr(
                group::Column::ExternalId,
                Expr::value(row.external_id.clone()),
            )
            .col_expr(group::Column::Version, Expr::value(row.version))
            .col_expr(group::Column::UpdatedAt, Expr::value(row.updated_at)),
    )
}

/// A new version and time of a group whose members changed, guarded by the version
/// `old_version` it was read at.
pub(crate) fn bump_group(
    db: &Database,
    scope: TenantScope,
    id: Uuid,
    old_version: i64,
    (version, updated_at): (i64, i64),
) -> Guard {
    affects_one(
        db,
        &scope
            .update_groups()
            .filter(group::Column::Id.eq(id))
            .filter(group::Column::Version.eq(old_version))
            .col_expr(group::Column::Version, Expr::value(version))
            .col_expr(group::Column::UpdatedAt, Expr::value(updated_at)),
    )
}

/// Pushes a new version (`version + 1`) and time for each of these groups (whose
/// members changed), unguarded.
pub(crate) fn bump_groups(
    writes: &mut Writes,
    scope: TenantScope,
    ids: impl IntoIterator<Item = Uuid>,
    updated_at: i64,
) {
    writes.push(
        &scope
            .update_groups()
            .filter(group::Column::Id.is_in(ids))
            .col_expr(
                group::Column::Version,
                Expr::col(group::Column::Version).add(1),
            )
            .col_expr(group::Column::UpdatedAt, Expr::value(updated_at)),
    );
}

/// The deletion of a group (its memberships go with it, by foreign key cascade),
/// guarded by the version it was read at.
pub(crate) fn delete_group(db: &Database, scope: TenantScope, id: Uuid, version: i64) -> Guard {
    affects_one(
        db,
        &scope
            .delete_groups()
            .filter(group::Column::Id.eq(id))
            .filter(group::Column::Version.eq(version)),
    )
}
