//! The SQL of a SCIM list: the window a page reads ([`window`]) and, for sorts by an
//! indexed path, the walk of the value index that finds it ([`segments`]).

pub(crate) mod page;
pub(crate) mod segments;
pub(crate) mod window;

use std::collections::HashMap;

use roster_entity::{group, user};
use roster_scim::filter::Filter;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::provisioning::{GroupRow, UserRow, users_with_groups};
use super::query::Translator;
use super::{Database, TenantScope};
use crate::provisioning::ProvResult;

/// Rows the evaluator may look at for one request. Filters and sorts that SQL does not
/// decide are evaluated on at most this many candidates; past it the request is
/// refused rather than the tenant loaded into memory.
pub(crate) const MAX_EVALUATED: u64 = 5_000;

/// Holders of a value from which a `pr` condition is asked user by user in list order
/// (a page then probes about `count × users ÷ holders` users: at most a fiftieth of the
/// tenant), not by collecting the holders (which costs the holders).
pub(crate) const DENSE_HOLDERS: u64 = 5_000;

/// The candidates of an in-memory evaluation, or `tooMany` when there are more than
/// [`MAX_EVALUATED`].
async fn bounded_candidates<E>(
    select: Select<E>,
    conn: &impl ConnectionTrait,
    what: &str,
) -> ProvResult<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let rows = select.limit(MAX_EVALUATED + 1).all(conn).await?;
    if rows.len() as u64 > MAX_EVALUATED {
        return Err(roster_scim::ScimError::too_many(format!(
            "this filter or sortBy is not answered by an index, and more than {MAX_EVALUATED} \
             {what} would have to be examined; narrow it with an indexed attribute (id, \
             userName, externalId, displayName, emails.value, active, meta.created, \
             meta.lastModified) or sort by one"
        ))
        .into());
    }
    Ok(rows)
}

/// The users matching `cond` (all of them without one), by id, as candidates of an
/// in-memory evaluation: `tooMany` when there are more than [`MAX_EVALUATED`].
pub(crate) async fn user_candidates(
    scope: TenantScope,
    cond: Option<SimpleExpr>,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<UserRow>> {
    let mut select = scope.users();
    if let Some(cond) = cond {
        select = select.filter(cond);
    }
    let rows = bounded_candidates(select.order_by_asc(user::Column::Id), conn, "users").await?;
    Ok(rows.into_iter().map(UserRow::from).collect())
}

/// The groups matching `cond` (all of them without one), by id, as candidates of an
/// in-memory evaluation: `tooMany` when there are more than [`MAX_EVALUATED`].
pub(crate) async fn group_candidates(
    scope: TenantScope,
    cond: Option<SimpleExpr>,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<GroupRow>> {
    let mut select = scope.groups();
    if let Some(cond) = cond {
        select = select.filter(cond);
    }
    let rows = bounded_candidates(select.order_by_asc(group::Column::Id), conn, "groups").await?;
    Ok(rows.into_iter().map(GroupRow::from).collect())
}

/// Users by id, in the order of `ids`, with their groups when `with_groups`.
pub(crate) async fn users_by_ids(
    scope: TenantScope,
    ids: &[uuid::Uuid],
    with_groups: bool,
    conn: &impl ConnectionTrait,
) -> ProvResult<Vec<(UserRow, Vec<GroupRow>)>> {
    let select = scope
        .users()
        .filter(user::Column::Id.is_in(ids.iter().copied()));
    let rows: Vec<(user::Model, Vec<group::Model>)> = if with_groups {
        select.find_with_related(group::Entity).all(conn).await?
    } else {
        select
            .all(conn)
            .await?
            .into_iter()
            .map(|row| (row, Vec::new()))
            .collect()
    };
    let mut by_id: HashMap<uuid::Uuid, (user::Model, Vec<group::Model>)> =
        rows.into_iter().map(|row| (row.0.id, row)).collect();
    Ok(users_with_groups(
        ids.iter().filter_map(|id| by_id.remove(id)).collect(),
    ))
}

/// The `pr` conditions of a filter on index keys this tenant holds at least
/// [`DENSE_HOLDERS`] values of. For those a page walks the users in list order and
/// probes each (cheap when many match); for rarer ones it collects the holders (cheap
/// when few do). One bounded index count per key decides.
pub(crate) async fn dense_presence(
    db: &Database,
    translator: &Translator<'_>,
    filter: Option<&Filter>,
) -> ProvResult<Vec<i64>> {
    let Some(filter) = filter else {
        return Ok(Vec::new());
    };
    let reader = db.reader();
    let mut dense = Vec::new();
    for k in translator.presence_keys(filter).into_iter().take(8) {
        let probe = translator.holders_probe(k, DENSE_HOLDERS);
        let held: i64 = match reader.query_one_raw(super::built(reader, &probe)).await? {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        };
        if u64::try_from(held).unwrap_or(0) >= DENSE_HOLDERS {
            dense.push(k);
        }
    }
    Ok(dense)
}
