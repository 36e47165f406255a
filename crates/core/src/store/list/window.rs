//! The SQL side of a list: the order, the window a page reads (an offset or a seek from
//! a boundary, see `provisioning::seek`), settling the rows into a page, and the total.

use roster_entity::{group, user};
use roster_scim::AttrPath;
use roster_scim::list::{ListQuery, ListResponse, PageCursors, SortOrder};
use sea_orm::sea_query::{Expr, ExprTrait, SelectStatement, SimpleExpr};
use sea_orm::{
    ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select,
};
use serde_json::Value;
use std::sync::OnceLock;

use crate::provisioning::{ProvResult, RequestContext};
use crate::store::TenantScope;
use crate::store::provisioning::{GroupRow, UserRow, users_with_groups};
use crate::store::query::{SortKey, Sql, Translator};
use crate::store::seek::{self, Boundary, Direction, PagePlan, Start};

/// How the rows of one list request are found.
pub(crate) struct Plan {
    pub(crate) sql: Sql,
    pub(crate) sort: Option<SortKey>,
    /// A cheaper count of the filter's matches (`Translator::value_count`).
    pub(crate) count: Option<SelectStatement>,
}

pub(crate) fn plan(query: &ListQuery, translator: &Translator<'_>) -> Plan {
    let sql = match &query.filter {
        Some(filter) => translator.translate(filter),
        None => Sql::Exact(Expr::val(1).eq(1)),
    };
    let sort = match &query.sort_by {
        None => translator.sort_column(&AttrPath::new("id")),
        Some(path) => translator.sort_column(path),
    };
    let count = query
        .filter
        .as_ref()
        .and_then(|f| translator.value_count(f));
    Plan { sql, sort, count }
}

/// Orders by the sort key — unassigned values last when ascending, first when
/// descending (as the engine sorts) — and the id as the tie-breaker, so pages are
/// stable whatever `count` is. `reverse` reads the same order backwards (a previous
/// page).
pub(crate) fn ordered<E: EntityTrait>(
    mut select: Select<E>,
    sort: &SortKey,
    order: SortOrder,
    id: SimpleExpr,
    reverse: bool,
) -> Select<E> {
    let ascending = matches!(order, SortOrder::Ascending) != reverse;
    let direction = || if ascending { Order::Asc } else { Order::Desc };
    if sort.nullable {
        select = select.order_by(sort.expr.clone().is_null(), direction());
    }
    select
        .order_by(sort.expr.clone(), direction())
        .order_by(id, if reverse { Order::Desc } else { Order::Asc })
}

/// The slice of the ordered rows one request reads: a seek condition or an offset,
/// the direction, and one row more than the page (which tells whether another follows).
pub(crate) struct Window {
    pub(crate) seek: Option<SimpleExpr>,
    /// The boundary `seek` is built from, and on which side of it the page lies.
    pub(crate) from: Option<(Boundary, Direction)>,
    pub(crate) offset: u64,
    pub(crate) reverse: bool,
    pub(crate) limit: u64,
    /// The listing's total, when reading the window had to count it anyway (the walk
    /// of a sort asks how many users the tenant has): the total then is not counted
    /// twice.
    pub(crate) counted: OnceLock<u64>,
}

impl Window {
    pub(crate) fn new(
        paging: &PagePlan,
        sort: &SortKey,
        order: SortOrder,
        id: SimpleExpr,
        limit: u64,
    ) -> Self {
        match &paging.start {
            Start::Offset(offset) => Self {
                seek: None,
                from: None,
                offset: *offset,
                reverse: false,
                limit,
                counted: OnceLock::new(),
            },
            Start::Seek {
                boundary,
                direction,
                ..
            } => Self {
                seek: Some(seek::seek_condition(sort, order, boundary, *direction, id)),
                from: Some((boundary.clone(), *direction)),
                offset: 0,
                reverse: *direction == Direction::Before,
                limit,
                counted: OnceLock::new(),
            },
        }
    }

    pub(crate) fn condition(&self, cond: SimpleExpr) -> SimpleExpr {
        match &self.seek {
            Some(seek) => cond.and(seek.clone()),
            None => cond,
        }
    }
}

/// One page's rows in list order and what is known around them.
pub(crate) struct Settled<T> {
    pub(crate) rows: Vec<T>,
    /// 0-based position of the first row.
    pub(crate) first: u64,
    pub(crate) more_after: bool,
    pub(crate) more_before: bool,
}

pub(crate) fn settle<T>(mut rows: Vec<T>, window: &Window, paging: &PagePlan) -> Settled<T> {
    let over = rows.len() as u64 > window.limit;
    rows.truncate(usize::try_from(window.limit).unwrap_or(usize::MAX));
    if window.reverse {
        rows.reverse();
    }
    let fetched = rows.len() as u64;
    match paging.start {
        Start::Offset(offset) => Settled {
            rows,
            first: offset,
            more_after: over,
            more_before: offset > 0,
        },
        Start::Seek {
            direction: Direction::After,
            position,
            ..
        } => Settled {
            rows,
            first: position,
            more_after: over,
            more_before: true,
        },
        Start::Seek { position, .. } => Settled {
            rows,
            first: if over {
                position.saturating_sub(fetched)
            } else {
                0
            },
            more_after: true,
            more_before: over,
        },
    }
}

/// The total of a listing: exact when this page reached the end, else what an earlier
/// page of the same listing counted or reading this window did, else one `COUNT`.
pub(crate) async fn total_of<T, E>(
    settled: &Settled<T>,
    (paging, window): (&PagePlan, &Window),
    select: Select<E>,
    direct: Option<&SelectStatement>,
    conn: &impl ConnectionTrait,
) -> ProvResult<u64>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let fetched = settled.rows.len() as u64;
    if !settled.more_after && (fetched > 0 || settled.first == 0) {
        return Ok(settled.first + fetched);
    }
    match paging.known_total.or_else(|| window.counted.get().copied()) {
        Some(total) => Ok(Ord::max(total, settled.first + fetched)),
        None => count(select, direct, conn).await,
    }
}

/// The number of rows a listing selects: from the value rows when the filter allows
/// (`Translator::value_count`: one index range, exact when every match is the only one
/// of its user), else `COUNT(*)` of the rows.
pub(crate) async fn count<E>(
    select: Select<E>,
    direct: Option<&SelectStatement>,
    conn: &impl ConnectionTrait,
) -> ProvResult<u64>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    if let Some(statement) = direct
        && let Some(row) = conn
            .query_one_raw(conn.get_database_backend().build(statement))
            .await?
    {
        let matches: i64 = row.try_get_by_index(0)?;
        let furthest: Option<i32> = row.try_get_by_index(1)?;
        if furthest.unwrap_or(0) == 0 {
            return Ok(u64::try_from(matches).unwrap_or(0));
        }
    }
    Ok(select.count(conn).await?)
}

/// The rows of one window of a listing, in the window's order (one more than the page
/// when another follows).
async fn window_rows<E>(
    select: Select<E>,
    sort: &SortKey,
    order: SortOrder,
    id: SimpleExpr,
    window: &Window,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    Ok(ordered(select, sort, order, id, window.reverse)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(conn)
        .await?)
}

/// The users of one window of a listing whose condition (with the window's seek) is
/// `cond`, in the window's order.
pub(crate) async fn user_rows(
    scope: TenantScope,
    cond: SimpleExpr,
    sort: &SortKey,
    order: SortOrder,
    window: &Window,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<UserRow>> {
    let id = Expr::col((user::Entity, user::Column::Id));
    let rows = window_rows(scope.users().filter(cond), sort, order, id, window, conn).await?;
    Ok(rows.into_iter().map(UserRow::from).collect())
}

/// The groups of one window of a listing whose condition (with the window's seek) is
/// `cond`, in the window's order.
pub(crate) async fn group_rows(
    scope: TenantScope,
    cond: SimpleExpr,
    sort: &SortKey,
    order: SortOrder,
    window: &Window,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<GroupRow>> {
    let id = Expr::col((group::Entity, group::Column::Id));
    let rows = window_rows(scope.groups().filter(cond), sort, order, id, window, conn).await?;
    Ok(rows.into_iter().map(GroupRow::from).collect())
}

/// A window of users with their groups in one query — the page chosen in a subquery,
/// its groups joined.
pub(crate) async fn users_window_with_groups(
    scope: TenantScope,
    cond: SimpleExpr,
    sort: &SortKey,
    order: SortOrder,
    window: &Window,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<(UserRow, Vec<GroupRow>)>> {
    let id_col = || Expr::col((user::Entity, user::Column::Id));
    let ids = ordered(
        scope.users().filter(cond),
        sort,
        order,
        id_col(),
        window.reverse,
    )
    .select_only()
    .column(user::Column::Id)
    .offset(window.offset)
    .limit(window.limit + 1)
    .into_query();
    let rows = ordered(
        scope.users().filter(id_col().in_subquery(ids)),
        sort,
        order,
        id_col(),
        window.reverse,
    )
    .find_with_related(group::Entity)
    .all(conn)
    .await?;
    Ok(users_with_groups(rows))
}

/// What one list request needs to page in SQL.
pub(crate) struct Listing<'a> {
    pub(crate) ctx: &'a RequestContext,
    pub(crate) fingerprint: u64,
    pub(crate) paging: PagePlan,
    pub(crate) sort: SortKey,
}

/// A page of rows SQL read, in list order, with the total and the cursors around it.
pub(crate) struct SqlPage<T> {
    pub(crate) rows: Vec<T>,
    pub(crate) total: u64,
    pub(crate) cursors: PageCursors,
    pub(crate) paging: PagePlan,
}

pub(crate) fn list_response(
    paging: &PagePlan,
    total: u64,
    start_index: u64,
    resources: Vec<Value>,
    cursors: PageCursors,
) -> Value {
    ListResponse {
        total_results: total,
        start_index,
        resources,
        cursors: paging.cursored.then_some(cursors),
    }
    .to_json()
}
