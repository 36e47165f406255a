//! A window of a list sorted by a path of the attribute-value index
//! (`sortBy=name.familyName`), read by walking indexes in order instead of computing
//! every user's sort value and sorting the tenant (issue 13).
//!
//! The order has two segments: the users with a sort value, by that value and then by
//! id, and the users without one, by id — after the others when ascending, before them
//! when descending, as the engine sorts. Each segment is one index walk that stops when
//! the window is full: the first along `user_values (tenant_id, attr, column)`, the
//! second along `users (tenant_id, id)` with a primary-key probe for a sort value per
//! user. A window that starts in one segment and runs past its end continues in the
//! other; a boundary (cursor or remembered `startIndex`) says in which one it starts.
//!
//! The probe finds users without a value at one lookup per user, so, on a list without a
//! filter, one pass over the path's value rows first tells whether there are any — a
//! tenant where everyone has a family name does not probe a million users to learn that
//! none lacks one.
//!
//! The list code walks this way only lists without a filter: with one, the walk would
//! visit every value row until enough of them pass the filter — a million for a filter
//! that selects ten — where the filter's own index finds the ten and SQL sorts them.

use roster_entity::{user, user_value};
use roster_scim::list::SortOrder;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, PaginatorTrait};
use uuid::Uuid;

use super::window::Window;
use crate::provisioning::ProvResult;
use crate::store::TenantScope;
use crate::store::query::IndexedSort;
use crate::store::seek::{Direction, KeyValue};
use crate::store::values::SORT_ELEM;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment {
    Valued,
    Unvalued,
}

fn c(alias: &str, column: &str) -> SimpleExpr {
    Expr::col((Alias::new(alias), Alias::new(column)))
}

fn users_id() -> SimpleExpr {
    Expr::col((user::Entity, user::Column::Id))
}

fn direction(up: bool) -> Order {
    if up { Order::Asc } else { Order::Desc }
}

/// The row `alias` is its user's sort value: the sort row, else the leaf at position 0
/// (as `Translator::indexed_sort` reads it), holding a value in the sort column.
///
/// "No sort row" is `(SELECT COUNT(*) …) = 0`, a primary-key probe for the rows the walk
/// visits: PostgreSQL turns a `NOT EXISTS` inside `OR` into a hashed subplan, which
/// scans the whole table to build the hash (600 ms at a million users).
fn is_sort_value(ix: IndexedSort, alias: &str) -> SimpleExpr {
    let mut sort_row = Query::select();
    sort_row
        .expr(Expr::col(sea_orm::sea_query::Asterisk).count())
        .from_as(user_value::Entity, Alias::new("sx"))
        .and_where(c("sx", "user_id").equals((Alias::new(alias), Alias::new("user_id"))))
        .and_where(c("sx", "attr").eq(ix.key))
        .and_where(c("sx", "elem").eq(SORT_ELEM));
    let no_sort_row = Expr::SubQuery(None, Box::new(sort_row.to_owned().into())).eq(0);
    c(alias, ix.column).is_not_null().and(
        c(alias, "elem")
            .eq(SORT_ELEM)
            .or(c(alias, "elem").eq(0).and(no_sort_row)),
    )
}

/// The ids of one window, in the window's order (one more than the page when another
/// follows). `cond` is the list's filter over `users`, `unfiltered` whether it has none.
pub(crate) async fn window_ids(
    scope: TenantScope,
    ix: IndexedSort,
    cond: &SimpleExpr,
    unfiltered: bool,
    order: SortOrder,
    window: &Window,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<Uuid>> {
    let tenant = scope.tenant();
    // Reading direction: the list's, or backwards for a previous page.
    let key_up = matches!(order, SortOrder::Ascending) != window.reverse;
    let id_up = !window.reverse;
    let mut segments = match order {
        SortOrder::Ascending => [Segment::Valued, Segment::Unvalued],
        SortOrder::Descending => [Segment::Unvalued, Segment::Valued],
    };
    if window.reverse {
        segments.reverse();
    }
    let boundary = window.from.as_ref().map(|(boundary, side)| {
        debug_assert_eq!(*side == Direction::Before, window.reverse);
        let segment = if boundary.key == KeyValue::Null {
            Segment::Unvalued
        } else {
            Segment::Valued
        };
        (segment, boundary)
    });
    let first = match boundary {
        Some((segment, _)) => segments.iter().position(|s| *s == segment).unwrap_or(0),
        None => 0,
    };
    let wanted = usize::try_from(window.limit + 1).unwrap_or(usize::MAX);
    let mut ids = Vec::new();
    for segment in &segments[first..] {
        let from = boundary.filter(|(s, _)| s == segment).map(|(_, b)| b);
        let left = wanted - ids.len();
        let statement = match segment {
            Segment::Valued => {
                let mut select = Query::select();
                select
                    .column((Alias::new("sv"), Alias::new("user_id")))
                    .from_as(user_value::Entity, Alias::new("sv"))
                    .inner_join(
                        user::Entity,
                        users_id().equals((Alias::new("sv"), Alias::new("user_id"))),
                    )
                    .and_where(c("sv", "tenant_id").eq(tenant.0))
                    .and_where(c("sv", "attr").eq(ix.key))
                    .and_where(is_sort_value(ix, "sv"))
                    .and_where(Expr::col((user::Entity, user::Column::TenantId)).eq(tenant.0))
                    .and_where(cond.clone());
                if let Some(boundary) = from {
                    let v = boundary.key.expr();
                    let key = c("sv", ix.column);
                    let id = c("sv", "user_id");
                    let id_beyond = if id_up {
                        id.gt(boundary.id)
                    } else {
                        id.lt(boundary.id)
                    };
                    select.and_where(if key_up {
                        key.clone().gte(v.clone()).and(key.gt(v).or(id_beyond))
                    } else {
                        key.clone().lte(v.clone()).and(key.lt(v).or(id_beyond))
                    });
                }
                select
                    .order_by((Alias::new("sv"), Alias::new(ix.column)), direction(key_up))
                    .order_by((Alias::new("sv"), Alias::new("user_id")), direction(id_up))
                    .limit(left as u64);
                select.to_owned()
            }
            Segment::Unvalued => {
                if from.is_none()
                    && unfiltered
                    && !has_unvalued_users(scope, ix, &window.counted, conn).await?
                {
                    continue;
                }
                let mut valued = Query::select();
                valued
                    .expr(Expr::val(1))
                    .from_as(user_value::Entity, Alias::new("sv"))
                    .and_where(c("sv", "user_id").equals((user::Entity, user::Column::Id)))
                    .and_where(c("sv", "attr").eq(ix.key))
                    .and_where(is_sort_value(ix, "sv"));
                let mut select = Query::select();
                select
                    .column((user::Entity, user::Column::Id))
                    .from(user::Entity)
                    .and_where(Expr::col((user::Entity, user::Column::TenantId)).eq(tenant.0))
                    .and_where(cond.clone())
                    .and_where(Expr::exists(valued.to_owned()).not());
                if let Some(boundary) = from {
                    select.and_where(if id_up {
                        users_id().gt(boundary.id)
                    } else {
                        users_id().lt(boundary.id)
                    });
                }
                select
                    .order_by((user::Entity, user::Column::Id), direction(id_up))
                    .limit(left as u64);
                select.to_owned()
            }
        };
        ids.extend(read_ids(&statement, conn).await?);
        if ids.len() >= wanted {
            break;
        }
    }
    Ok(ids)
}

async fn read_ids(
    statement: &SelectStatement,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<Uuid>> {
    let rows = conn
        .query_all_raw(conn.get_database_backend().build(statement))
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.try_get_by_index::<Uuid>(0)?);
    }
    Ok(ids)
}

/// Whether some user of the tenant has no value to sort by: unless the path has sort
/// rows (then the answer needs the probe, and this says "maybe"), its users with a value
/// are its value rows at position 0 — one index range counted — against the tenant's
/// users, whose count is kept in `users` for the listing's total (the walk serves only
/// lists without a filter, whose total is exactly that).
async fn has_unvalued_users(
    scope: TenantScope,
    ix: IndexedSort,
    users: &std::sync::OnceLock<u64>,
    conn: &impl ConnectionTrait,
) -> ProvResult<bool> {
    let when = |cond: SimpleExpr| Expr::case(cond, Expr::val(1)).finally(Expr::val(0)).sum();
    let mut rows = Query::select();
    rows.expr(when(c("v", "elem").eq(SORT_ELEM)))
        .expr(when(
            c("v", "elem").eq(0).and(c("v", ix.column).is_not_null()),
        ))
        .from_as(user_value::Entity, Alias::new("v"))
        .and_where(c("v", "tenant_id").eq(scope.tenant_uuid()))
        .and_where(c("v", "attr").eq(ix.key));
    let Some(row) = conn
        .query_one_raw(conn.get_database_backend().build(&rows.to_owned()))
        .await?
    else {
        return Ok(true);
    };
    let sort_rows: Option<i64> = row.try_get_by_index(0)?;
    let valued: Option<i64> = row.try_get_by_index(1)?;
    if sort_rows.unwrap_or(0) > 0 {
        return Ok(true);
    }
    let count = match users.get() {
        Some(count) => *count,
        None => {
            let count = scope.users().count(conn).await?;
            let _ = users.set(count);
            count
        }
    };
    Ok(u64::try_from(valued.unwrap_or(0)).unwrap_or(0) < count)
}
