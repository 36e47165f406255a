//! Batches over many users, read in id order a bounded chunk at a time: notification
//! settings re-applied, users outside the verified domains, hosts re-evaluated, and the
//! startup backfill of the attribute-value index.

use roster_entity::{user, user_value};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::UserRow;
use crate::rules::TrustedDomain;
use crate::store::writes::Writes;
use crate::store::{Database, TenantScope};

fn rows(models: Vec<user::Model>) -> Vec<UserRow> {
    models.into_iter().map(UserRow::from).collect()
}

/// Up to `limit` users after `after` (by id) whose notification settings are not
/// `defaults`.
pub(crate) async fn users_without_settings(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    defaults: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<UserRow>, DbErr> {
    let mut query = scope
        .users()
        .filter(
            Condition::any()
                .add(user::Column::Notifications.is_null())
                .add(user::Column::Notifications.ne(defaults.to_owned())),
        )
        .order_by_asc(user::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(user::Column::Id.gt(after));
    }
    Ok(rows(query.all(conn).await?))
}

/// Pushes the notification settings `stored` of these users, each with a new version,
/// at `now`.
pub(crate) fn set_notifications(
    writes: &mut Writes,
    scope: TenantScope,
    ids: &[Uuid],
    stored: &str,
    now: i64,
) {
    writes.push(
        &scope
            .update_users()
            .filter(user::Column::Id.is_in(ids.iter().copied()))
            .col_expr(user::Column::Notifications, Expr::value(stored.to_owned()))
            .col_expr(
                user::Column::Version,
                Expr::col(user::Column::Version).add(1),
            )
            .col_expr(user::Column::UpdatedAt, Expr::value(now)),
    );
}

/// `column` is an address in one of `domains` (its lower-cased value; verified domains
/// are ASCII `a-z0-9-.`, so they hold no LIKE wildcard).
fn covered(column: user::Column, domains: &[&TrustedDomain]) -> Condition {
    let mut any = Condition::any();
    for domain in domains {
        any = any.add(column.like(format!("_%@{}", domain.domain)));
        if domain.include_subdomains {
            any = any.add(column.like(format!("_%@%.{}", domain.domain)));
        }
    }
    any
}

/// Active users whose userName (when an address) or primary email is outside
/// `domains`, or who have neither.
fn outside(domains: &[&TrustedDomain]) -> Condition {
    use user::Column::{PrimaryEmailLower as Email, UserNameLower as Name};
    let name_inside = Condition::any()
        .add(Name.not_like("_%@_%"))
        .add(covered(Name, domains));
    let email_inside = Condition::any()
        .add(Email.is_null())
        .add(Email.not_like("_%@_%"))
        .add(covered(Email, domains));
    let has_address = Condition::any().add(Name.like("_%@_%")).add(
        Condition::all()
            .add(Email.is_not_null())
            .add(Email.like("_%@_%")),
    );
    Condition::all().add(user::Column::Active.eq(true)).add(
        Condition::all()
            .add(name_inside)
            .add(email_inside)
            .add(has_address)
            .not(),
    )
}

/// Up to `limit` active users after `after` (by id) outside the verified `domains`; with
/// `lock`, locked until the transaction ends where another connection could write them.
pub(crate) async fn users_outside(
    (db, conn): (&Database, &impl ConnectionTrait),
    scope: TenantScope,
    domains: &[&TrustedDomain],
    after: Option<Uuid>,
    limit: u64,
    lock: bool,
) -> Result<Vec<UserRow>, DbErr> {
    let mut query = scope
        .users()
        .filter(outside(domains))
        .order_by_asc(user::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(user::Column::Id.gt(after));
    }
    if lock {
        query = db.lock_rows(query);
    }
    Ok(rows(query.all(conn).await?))
}

/// The ids of up to `limit` active users outside the verified `domains`.
pub(crate) async fn ids_outside(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    domains: &[&TrustedDomain],
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    scope
        .users()
        .select_only()
        .column(user::Column::Id)
        .filter(outside(domains))
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// Pushes the deactivation of a user: its new document, `active = false`, a new
/// version and `updated_at`.
pub(crate) fn deactivate_user(
    writes: &mut Writes,
    scope: TenantScope,
    id: Uuid,
    doc: &str,
    updated_at: i64,
) {
    writes.push(
        &scope
            .update_users()
            .filter(user::Column::Id.eq(id))
            .col_expr(user::Column::Doc, Expr::value(doc.to_owned()))
            .col_expr(user::Column::Active, Expr::value(false))
            .col_expr(
                user::Column::Version,
                Expr::col(user::Column::Version).add(1),
            )
            .col_expr(user::Column::UpdatedAt, Expr::value(updated_at)),
    );
}

/// Up to `limit` users after `after`, by id; with `lock`, locked until the
/// transaction ends where another connection could write them meanwhile.
pub(crate) async fn users_after(
    db: &Database,
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    after: Option<Uuid>,
    limit: u64,
    lock: bool,
) -> Result<Vec<UserRow>, DbErr> {
    let mut query = scope.users().order_by_asc(user::Column::Id).limit(limit);
    if let Some(after) = after {
        query = query.filter(user::Column::Id.gt(after));
    }
    if lock {
        query = db.lock_rows(query);
    }
    Ok(rows(query.all(conn).await?))
}

/// Stores a user's new hosts with its new version and time, if it is still at
/// `old_version`; the rows it changed.
pub(crate) async fn set_hosts(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    old_version: i64,
    row: &UserRow,
) -> Result<u64, DbErr> {
    Ok(scope
        .update_user_at(row.id, old_version)
        .col_expr(user::Column::Hosts, Expr::value(row.hosts.clone()))
        .col_expr(user::Column::Version, Expr::value(row.version))
        .col_expr(user::Column::UpdatedAt, Expr::value(row.updated_at))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Up to `limit` users after `after` (by id), of every tenant, that have no row in the
/// attribute-value index.
pub(crate) async fn unindexed_users(
    conn: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<UserRow>, DbErr> {
    let mut has_rows = Query::select();
    has_rows
        .expr(Expr::val(1))
        .from(user_value::Entity)
        .and_where(
            Expr::col((user_value::Entity, user_value::Column::UserId))
                .equals((user::Entity, user::Column::Id)),
        );
    let mut select = user::Entity::find()
        .filter(Expr::exists(has_rows.to_owned()).not())
        .order_by_asc(user::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        select = select.filter(user::Column::Id.gt(after));
    }
    Ok(rows(select.all(conn).await?))
}
