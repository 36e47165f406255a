//! One page of a SCIM list that SQL decides: where it starts (an offset, a cursor, or a
//! boundary this node remembered), the window of rows it reads, its total, and the
//! boundaries the next and previous pages start from.

use roster_scim::list::{ListQuery, Page, PageCursors};
use roster_scim::schema::ResourceKind;
use sea_orm::sea_query::{Expr, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, QueryFilter};
use uuid::Uuid;

use roster_entity::{group, user};

use super::window::{self, Listing, Settled, SqlPage, Window, settle};
use crate::provisioning::{ProvResult, RequestContext};
use crate::store::query::SortKey;
use crate::store::seek::{self, Boundary, Direction, SeekCache};
use crate::store::{Database, TenantScope};

/// The rows a list reads: one tenant's users, or its groups.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Listed {
    Users(TenantScope),
    Groups(TenantScope),
}

impl Listed {
    /// The id column, the tie-breaker of every list order.
    pub(crate) fn id_col(self) -> SimpleExpr {
        match self {
            Listed::Users(_) => Expr::col((user::Entity, user::Column::Id)),
            Listed::Groups(_) => Expr::col((group::Entity, group::Column::Id)),
        }
    }

    /// How many rows match `cond` (see [`window::count`]).
    async fn count(
        self,
        cond: &SimpleExpr,
        direct: Option<&SelectStatement>,
        conn: &impl ConnectionTrait,
    ) -> ProvResult<u64> {
        match self {
            Listed::Users(scope) => {
                window::count(scope.users().filter(cond.clone()), direct, conn).await
            }
            Listed::Groups(scope) => {
                window::count(scope.groups().filter(cond.clone()), direct, conn).await
            }
        }
    }

    /// The total of a listing (see [`window::total_of`]).
    async fn total<T>(
        self,
        settled: &Settled<T>,
        (paging, window): (&seek::PagePlan, &Window),
        (cond, direct): (&SimpleExpr, Option<&SelectStatement>),
        conn: &impl ConnectionTrait,
    ) -> ProvResult<u64> {
        match self {
            Listed::Users(scope) => {
                let all = scope.users().filter(cond.clone());
                window::total_of(settled, (paging, window), all, direct, conn).await
            }
            Listed::Groups(scope) => {
                let all = scope.groups().filter(cond.clone());
                window::total_of(settled, (paging, window), all, direct, conn).await
            }
        }
    }

    /// The sort value of the row `id`, where a page before or after it starts.
    async fn boundary(
        self,
        sort: &SortKey,
        id: Uuid,
        conn: &impl ConnectionTrait,
    ) -> Result<Boundary, sea_orm::DbErr> {
        match self {
            Listed::Users(scope) => {
                seek::boundary_of(scope.users(), sort, self.id_col(), id, conn).await
            }
            Listed::Groups(scope) => {
                seek::boundary_of(scope.groups(), sort, self.id_col(), id, conn).await
            }
        }
    }
}

/// One page of a list SQL decides: plans where it starts (offset, cursor or a
/// remembered boundary), reads the window with `fetch`, and settles the rows, the
/// total and the cursors. A `count=0` request reads no rows, only the total.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn sql_page<T>(
    (db, cache): (&Database, &SeekCache),
    (ctx, kind, query, page): (&RequestContext, ResourceKind, &ListQuery, Page),
    sort: &SortKey,
    listed: Listed,
    (cond, direct): (&SimpleExpr, Option<&SelectStatement>),
    id_of: impl Fn(&T) -> Uuid,
    fetch: impl AsyncFnOnce(&Window) -> ProvResult<Vec<T>>,
) -> ProvResult<SqlPage<T>> {
    let reader = db.reader();
    let fingerprint = seek::fingerprint(ctx.tenant_id(), kind, query);
    let listing = Listing {
        ctx,
        fingerprint,
        paging: seek::plan_page(
            query,
            page.offset,
            fingerprint,
            Some(sort.ty),
            cache,
            ctx.tenant_id(),
        )?,
        sort: sort.clone(),
    };
    if page.limit == 0 {
        let total = match listing.paging.known_total {
            Some(total) => total,
            None => listed.count(cond, direct, reader).await?,
        };
        return Ok(SqlPage {
            rows: Vec::new(),
            total,
            cursors: PageCursors::default(),
            paging: listing.paging,
        });
    }
    let window = Window::new(
        &listing.paging,
        sort,
        query.sort_order,
        listed.id_col(),
        page.limit,
    );
    let rows = fetch(&window).await?;
    let settled = settle(rows, &window, &listing.paging);
    let total = listed
        .total(&settled, (&listing.paging, &window), (cond, direct), reader)
        .await?;
    let ends = (
        settled.rows.first().map(&id_of),
        settled.rows.last().map(&id_of),
    );
    let cursors = around((db, cache), &listing, &settled, ends, total, listed).await?;
    Ok(SqlPage {
        rows: settled.rows,
        total,
        cursors,
        paging: listing.paging,
    })
}

/// Where the listing goes from this page: the boundary of its last row remembered
/// for the next `startIndex`, or — for cursor paging — `nextCursor` and
/// `previousCursor`. Reads the sort value of at most two rows, by id.
async fn around<T>(
    (db, cache): (&Database, &SeekCache),
    listing: &Listing<'_>,
    settled: &Settled<T>,
    (first_id, last_id): (Option<Uuid>, Option<Uuid>),
    total: u64,
    listed: Listed,
) -> ProvResult<PageCursors> {
    let reader = db.reader();
    let end = settled.first + settled.rows.len() as u64;
    let mut cursors = PageCursors::default();
    if settled.more_after
        && let Some(last) = last_id
    {
        let boundary = listed.boundary(&listing.sort, last, reader).await?;
        if listing.paging.cursored {
            cursors.next = Some(seek::encode_cursor(
                listing.fingerprint,
                Some(boundary),
                Direction::After,
                end,
                total,
            ));
        } else {
            cache.put(
                listing.ctx.tenant_id(),
                listing.fingerprint,
                end,
                boundary,
                total,
            );
        }
    }
    if listing.paging.cursored
        && settled.more_before
        && let Some(first) = first_id
    {
        let boundary = listed.boundary(&listing.sort, first, reader).await?;
        cursors.previous = Some(seek::encode_cursor(
            listing.fingerprint,
            Some(boundary),
            Direction::Before,
            settled.first,
            total,
        ));
    }
    Ok(cursors)
}
