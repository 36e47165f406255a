//! Listing users and groups: filter, sort, page.
//!
//! When the filter translates exactly and the sort key is a column, SQL counts and pages
//! (cost independent of the other rows' documents). Otherwise the rows SQL can narrow to
//! are rendered and the engine's evaluator decides, then sorts and pages in memory — slower,
//! but exactly right for every valid filter.

use std::collections::HashMap;

use roster_entity::{group, user};
use roster_scim::filter::Filter;
use roster_scim::list::{ListQuery, ListResponse, SortOrder, sort_resources};
use roster_scim::projection::{self, Projection};
use roster_scim::resource::{Member, MemberKind};
use roster_scim::schema::ResourceSchema;
use roster_scim::{AttrPath, JsonObject};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select,
};
use serde_json::Value;

use super::members::members_of;
use super::query::{Sql, Translator};
use super::users::{groups_of, parse_doc};
use super::{ProvResult, Provisioning, RequestContext};

/// How the rows of one list request are found.
struct Plan {
    sql: Sql,
    sort: Option<(SimpleExpr, bool)>,
}

fn plan(schema: &ResourceSchema, query: &ListQuery, translator: &Translator<'_>) -> Plan {
    let sql = match &query.filter {
        Some(filter) => translator.translate(filter),
        None => Sql::Exact(Expr::val(1).eq(1)),
    };
    let sort = match &query.sort_by {
        None => translator.sort_column(&AttrPath::new("id")),
        Some(path) => translator.sort_column(path),
    };
    let _ = schema;
    Plan { sql, sort }
}

fn ordered<E: EntityTrait>(
    mut select: Select<E>,
    sort: &(SimpleExpr, bool),
    order: SortOrder,
    id: SimpleExpr,
) -> Select<E> {
    let (column, nullable) = sort;
    // Unassigned values last when ascending, first when descending (as the engine
    // sorts), and the id as the tie-breaker so pages are stable whatever `count` is.
    let direction = match order {
        SortOrder::Ascending => Order::Asc,
        SortOrder::Descending => Order::Desc,
    };
    if *nullable {
        select = select.order_by(column.clone().is_null(), direction.clone());
    }
    select
        .order_by(column.clone(), direction)
        .order_by(id, Order::Asc)
}

/// One page and the total. The page is read first: when it comes back short of the
/// limit, it holds the last matches and the total follows from it (the usual case for
/// `userName eq`, which matches one user or none), so the separate `COUNT` is only paid
/// for full pages and pages past the end. (A window `COUNT(*) OVER ()` would fold the two
/// into one query, but SQLite then materialises and sorts every matching row.)
async fn paged<E>(
    select: Select<E>,
    sort: &(SimpleExpr, bool),
    order: SortOrder,
    id: SimpleExpr,
    page: roster_scim::list::Page,
    conn: &impl ConnectionTrait,
) -> ProvResult<(u64, Vec<E::Model>)>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    if page.limit == 0 {
        return Ok((select.count(conn).await?, Vec::new()));
    }
    let rows = ordered(select.clone(), sort, order, id)
        .offset(page.offset)
        .limit(page.limit)
        .all(conn)
        .await?;
    let fetched = rows.len() as u64;
    let total = if fetched < page.limit && (fetched > 0 || page.offset == 0) {
        page.offset + fetched
    } else {
        select.count(conn).await?
    };
    Ok((total, rows))
}

/// A page of users with their groups in one query — the page chosen in a subquery, its
/// groups joined — plus a `COUNT` only when the page does not settle the total.
async fn users_page_with_groups(
    scope: super::TenantScope,
    cond: SimpleExpr,
    sort: &(SimpleExpr, bool),
    order: SortOrder,
    page: roster_scim::list::Page,
    conn: &impl ConnectionTrait,
) -> ProvResult<(u64, Vec<(user::Model, Vec<group::Model>)>)> {
    let id_col = || Expr::col((user::Entity, user::Column::Id));
    let select = scope.users().filter(cond);
    if page.limit == 0 {
        return Ok((select.count(conn).await?, Vec::new()));
    }
    let ids = ordered(select.clone(), sort, order, id_col())
        .select_only()
        .column(user::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .into_query();
    let rows = ordered(
        scope.users().filter(id_col().in_subquery(ids)),
        sort,
        order,
        id_col(),
    )
    .find_with_related(group::Entity)
    .all(conn)
    .await?;
    let fetched = rows.len() as u64;
    let total = if fetched < page.limit && (fetched > 0 || page.offset == 0) {
        page.offset + fetched
    } else {
        select.count(conn).await?
    };
    Ok((total, rows))
}

/// Rows the evaluator may look at for one request. Filters and sorts that SQL does not
/// decide are evaluated on at most this many candidates; past it the request is
/// refused rather than the tenant loaded into memory.
const MAX_EVALUATED: u64 = 5_000;

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

fn mentions(filter: Option<&Filter>, attribute: &str) -> bool {
    filter.is_some_and(|f| f.to_string().to_ascii_lowercase().contains(attribute))
}

fn sort_in_memory(
    resources: &mut [JsonObject],
    schema: &ResourceSchema,
    sort_by: Option<&AttrPath>,
    order: SortOrder,
) {
    if let Some(path) = sort_by {
        sort_resources(resources, schema, path, order);
    }
}

impl Provisioning {
    pub(crate) async fn list_users_inner(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> ProvResult<Value> {
        let rules = self.rules(ctx.tenant_id).await?;
        let schema = rules.registry.user();
        query.validate(schema)?;
        let projection = query.projection(schema)?;
        let page = query.page(self.settings.default_count, self.settings.max_results());
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let translator = Translator::new(schema, self.db.backend(), ctx.tenant_id);
        let plan = plan(schema, query, &translator);
        let id_col = Expr::col((user::Entity, user::Column::Id));

        if let (Sql::Exact(cond), Some(sort)) = (&plan.sql, &plan.sort) {
            let wants_groups = projection.includes(schema, "groups");
            let (total, rows) = if wants_groups {
                users_page_with_groups(scope, cond.clone(), sort, query.sort_order, page, reader)
                    .await?
            } else {
                let (total, rows) = paged(
                    scope.users().filter(cond.clone()),
                    sort,
                    query.sort_order,
                    id_col,
                    page,
                    reader,
                )
                .await?;
                (
                    total,
                    rows.into_iter().map(|row| (row, Vec::new())).collect(),
                )
            };
            let groups: HashMap<uuid::Uuid, Vec<Member>> = rows
                .iter()
                .map(|(row, groups)| {
                    let members = groups
                        .iter()
                        .map(|g| Member {
                            value: g.id.to_string(),
                            kind: MemberKind::Group,
                            display: Some(g.display_name.clone()),
                        })
                        .collect();
                    (row.id, members)
                })
                .collect();
            let rows: Vec<user::Model> = rows.into_iter().map(|(row, _)| row).collect();
            let mut resources = Vec::with_capacity(rows.len());
            for row in &rows {
                let doc = parse_doc(&row.doc)?;
                let user_groups = groups.get(&row.id).map(Vec::as_slice);
                resources.push(
                    self.render_user(ctx, &rules, row, &doc, user_groups, &projection)
                        .body,
                );
            }
            return Ok(ListResponse {
                total_results: total,
                start_index: page.start_index,
                resources,
            }
            .to_json());
        }

        // The evaluator decides: render every candidate, keep the matches — one
        // evaluation of this tenant's at a time on this node.
        let turn = self.evaluation_turn(ctx).await;
        let mut select = scope.users();
        if let Sql::Exact(cond) | Sql::Superset(cond) = &plan.sql {
            select = select.filter(cond.clone());
        }
        let rows =
            bounded_candidates(select.order_by_asc(user::Column::Id), reader, "users").await?;
        let _turn = turn;
        let need_groups = mentions(query.filter.as_ref(), "groups")
            || query
                .sort_by
                .as_ref()
                .is_some_and(|p| p.name.eq_ignore_ascii_case("groups"))
            || projection.includes(schema, "groups");
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        let groups = if need_groups {
            groups_of(reader, scope, &ids).await?
        } else {
            HashMap::new()
        };
        // Rendering and matching thousands of users is CPU work: off the HTTP workers,
        // and one evaluation of this tenant's at a time.
        let (this, ctx, query) = (self.clone(), ctx.clone(), query.clone());
        crate::cpu::offload(move || {
            let schema = rules.registry.user();
            let all = Projection::all();
            let mut matches = Vec::new();
            for row in &rows {
                let doc = parse_doc(&row.doc)?;
                let rendered = this.render_user(
                    &ctx,
                    &rules,
                    row,
                    &doc,
                    groups.get(&row.id).map(Vec::as_slice),
                    &all,
                );
                let Value::Object(object) = rendered.body else {
                    continue;
                };
                if query
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&object, schema))
                {
                    matches.push(object);
                }
            }
            this.finish_in_memory(schema, &query, &projection, page, matches)
        })
        .await?
    }

    pub(crate) async fn list_groups_inner(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> ProvResult<Value> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.group();
        query.validate(schema)?;
        let projection = query.projection(schema)?;
        let page = query.page(self.settings.default_count, self.settings.max_results());
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let translator = Translator::new(schema, self.db.backend(), ctx.tenant_id);
        let plan = plan(schema, query, &translator);
        let id_col = Expr::col((group::Entity, group::Column::Id));
        let wants_members = projection.includes(schema, "members");

        if let (Sql::Exact(cond), Some(sort)) = (&plan.sql, &plan.sort) {
            let (total, rows) = paged(
                scope.groups().filter(cond.clone()),
                sort,
                query.sort_order,
                id_col,
                page,
                reader,
            )
            .await?;
            let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
            let members = if wants_members {
                members_of(reader, scope, &ids).await?
            } else {
                HashMap::new()
            };
            let mut resources = Vec::with_capacity(rows.len());
            for row in &rows {
                let doc = parse_doc(&row.doc)?;
                let group_members =
                    wants_members.then(|| members.get(&row.id).map(Vec::as_slice).unwrap_or(&[]));
                resources.push(
                    self.render_group(ctx, schema, row, &doc, group_members, &projection)
                        .body,
                );
            }
            return Ok(ListResponse {
                total_results: total,
                start_index: page.start_index,
                resources,
            }
            .to_json());
        }

        let turn = self.evaluation_turn(ctx).await;
        let mut select = scope.groups();
        if let Sql::Exact(cond) | Sql::Superset(cond) = &plan.sql {
            select = select.filter(cond.clone());
        }
        let rows =
            bounded_candidates(select.order_by_asc(group::Column::Id), reader, "groups").await?;
        let _turn = turn;
        let need_members = wants_members
            || mentions(query.filter.as_ref(), "members")
            || query
                .sort_by
                .as_ref()
                .is_some_and(|p| p.name.eq_ignore_ascii_case("members"));
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        let members = if need_members {
            members_of(reader, scope, &ids).await?
        } else {
            HashMap::new()
        };
        let (this, ctx, query) = (self.clone(), ctx.clone(), query.clone());
        crate::cpu::offload(move || {
            let schema = registry.group();
            let all = Projection::all();
            let mut matches = Vec::new();
            for row in &rows {
                let doc = parse_doc(&row.doc)?;
                let group_members =
                    need_members.then(|| members.get(&row.id).map(Vec::as_slice).unwrap_or(&[]));
                let rendered = this.render_group(&ctx, schema, row, &doc, group_members, &all);
                let Value::Object(object) = rendered.body else {
                    continue;
                };
                if query
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&object, schema))
                {
                    matches.push(object);
                }
            }
            this.finish_in_memory(schema, &query, &projection, page, matches)
        })
        .await?
    }

    /// `POST /.search` at the root: users, then groups, paged as one list. A filter that
    /// names attributes one type does not have matches nothing of that type.
    pub async fn search_all(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        self.run(
            ctx,
            super::Operation::Search,
            None,
            self.search_all_inner(ctx, query),
        )
        .await
    }

    async fn search_all_inner(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        let page = query.page(self.settings.default_count, self.settings.max_results());
        let counting = ListQuery {
            count: Some(0),
            start_index: 1,
            ..query.clone()
        };
        let users_total = match self.list_users_inner(ctx, &counting).await {
            Ok(list) => Some(list["totalResults"].as_u64().unwrap_or(0)),
            Err(super::ProvisioningError::Scim(_)) => None,
            Err(err) => return Err(err),
        };
        let groups_total = match self.list_groups_inner(ctx, &counting).await {
            Ok(list) => Some(list["totalResults"].as_u64().unwrap_or(0)),
            Err(super::ProvisioningError::Scim(err)) if users_total.is_none() => {
                return Err(err.into());
            }
            Err(super::ProvisioningError::Scim(_)) => None,
            Err(err) => return Err(err),
        };
        let (users, groups) = (users_total.unwrap_or(0), groups_total.unwrap_or(0));
        let mut resources = Vec::new();
        let mut remaining = page.limit;
        if page.offset < users && remaining > 0 {
            let take = Ord::min(remaining, users - page.offset);
            let list = self
                .list_users_inner(
                    ctx,
                    &ListQuery {
                        start_index: page.offset + 1,
                        count: Some(take),
                        ..query.clone()
                    },
                )
                .await?;
            resources.extend(list["Resources"].as_array().cloned().unwrap_or_default());
            remaining -= take;
        }
        if remaining > 0 && groups > 0 {
            let offset = page.offset.saturating_sub(users);
            if offset < groups {
                let list = self
                    .list_groups_inner(
                        ctx,
                        &ListQuery {
                            start_index: offset + 1,
                            count: Some(remaining),
                            ..query.clone()
                        },
                    )
                    .await?;
                resources.extend(list["Resources"].as_array().cloned().unwrap_or_default());
            }
        }
        Ok(ListResponse {
            total_results: users + groups,
            start_index: page.start_index,
            resources,
        }
        .to_json())
    }

    fn finish_in_memory(
        &self,
        schema: &ResourceSchema,
        query: &ListQuery,
        projection: &Projection,
        page: roster_scim::list::Page,
        mut matches: Vec<JsonObject>,
    ) -> ProvResult<Value> {
        sort_in_memory(
            &mut matches,
            schema,
            query.sort_by.as_ref(),
            query.sort_order,
        );
        let total = matches.len() as u64;
        let resources = matches
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit).unwrap_or(usize::MAX))
            .map(|mut object| {
                projection::apply(projection, schema, &mut object);
                Value::Object(object)
            })
            .collect();
        Ok(ListResponse {
            total_results: total,
            start_index: page.start_index,
            resources,
        }
        .to_json())
    }
}
