//! Listing users and groups: filter, sort, page.
//!
//! When SQL decides the filter exactly and orders by the sort key, it pages too: one
//! window of rows per request (`window`), from an offset or — for cursors and for the
//! `startIndex` page after one this node served — seeking from a boundary key
//! (`provisioning::seek`), so no request reads more than a page and the end of the
//! tenant costs what its start does. What SQL cannot decide (a few server-made
//! attributes) is evaluated in memory on at most `MAX_EVALUATED` candidates.

use std::sync::Arc;

use std::collections::HashMap;

use roster_scim::filter::Filter;
use roster_scim::list::{ListQuery, PageCursors, SortOrder, sort_resources};
use roster_scim::projection::{self, Projection};
use roster_scim::resource::{Member, MemberKind};
use roster_scim::schema::{ResourceKind, ResourceSchema};
use roster_scim::{AttrPath, JsonObject};
use serde_json::Value;

mod root;

use super::members::members_of;
use super::users::{groups_of, parse_doc};
use super::{ProvResult, Provisioning, RequestContext};
use crate::rules::TenantRules;
use crate::store::list::page::{Listed, sql_page};
use crate::store::list::{
    dense_presence, group_candidates, segments, user_candidates, users_by_ids, window,
};
use crate::store::provisioning::{GroupRow, UserRow};
use crate::store::query::{Sql, Translator};
use crate::store::seek::{self, Direction, PagePlan, Start};
use window::{Window, group_rows, list_response, plan, user_rows, users_window_with_groups};

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
        rules: Arc<TenantRules>,
        query: &ListQuery,
    ) -> ProvResult<Value> {
        let schema = rules.registry.user();
        query.validate(schema)?;
        let projection = query.projection(schema)?;
        let page = query.page(self.settings.default_count, self.settings.max_results());
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let translator = Translator::of(schema, &self.db, ctx.tenant_id);
        let plan = plan(query, &translator);

        if let (Sql::Exact(cond), Some(sort)) = (&plan.sql, &plan.sort) {
            let wants_groups = projection.includes(schema, "groups");
            let order = query.sort_order;
            // The page's rows: as the count's, except that common `pr` conditions are
            // asked user by user in list order (see `dense_presence`).
            let dense = dense_presence(&self.db, &translator, query.filter.as_ref()).await?;
            let page_cond = match (&query.filter, dense.is_empty()) {
                (Some(filter), false) => {
                    match Translator::of(schema, &self.db, ctx.tenant_id)
                        .with_dense(dense)
                        .translate(filter)
                    {
                        Sql::Exact(page_cond) => page_cond,
                        _ => cond.clone(),
                    }
                }
                _ => cond.clone(),
            };
            let fetched = sql_page(
                (&self.db, &self.seek_cache),
                (ctx, ResourceKind::User, query, page),
                sort,
                Listed::Users(scope),
                (cond, plan.count.as_ref()),
                |(row, _): &(UserRow, Vec<GroupRow>)| row.id,
                async |window: &Window| {
                    // Only without a filter: a selective filter (`userName sw`) is
                    // better served by its own index, the few rows then sorted.
                    if let Some(ix) = sort.indexed
                        && window.offset == 0
                        && query.filter.is_none()
                    {
                        let ids = segments::window_ids(
                            scope,
                            ix,
                            &page_cond,
                            query.filter.is_none(),
                            order,
                            window,
                            reader,
                        )
                        .await?;
                        self.walked_sorts
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        return users_by_ids(scope, &ids, wants_groups, reader).await;
                    }
                    let cond = window.condition(page_cond);
                    if wants_groups {
                        users_window_with_groups(scope, cond, sort, order, window, reader).await
                    } else {
                        Ok(user_rows(scope, cond, sort, order, window, reader)
                            .await?
                            .into_iter()
                            .map(|row| (row, Vec::new()))
                            .collect())
                    }
                },
            )
            .await?;
            let mut resources = Vec::with_capacity(fetched.rows.len());
            for (row, groups) in &fetched.rows {
                let members: Vec<Member> = groups
                    .iter()
                    .map(|g| Member {
                        value: g.id.to_string(),
                        kind: MemberKind::Group,
                        display: Some(g.display_name.clone()),
                    })
                    .collect();
                let doc = parse_doc(&row.doc)?;
                let user_groups = wants_groups.then_some(members.as_slice());
                resources.push(
                    self.render_user(ctx, &rules, row, &doc, user_groups, &projection)
                        .body,
                );
            }
            return Ok(list_response(
                &fetched.paging,
                fetched.total,
                page.start_index,
                resources,
                fetched.cursors,
            ));
        }

        // The evaluator decides: render every candidate, keep the matches — one
        // evaluation of this tenant's at a time on this node.
        let paging = self.memory_paging(ctx, ResourceKind::User, query, page)?;
        let turn = self.evaluation_turn(ctx).await;
        let cond = match &plan.sql {
            Sql::Exact(cond) | Sql::Superset(cond) => Some(cond.clone()),
            Sql::Unknown => None,
        };
        let rows = user_candidates(scope, cond, reader).await?;
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
            this.finish_in_memory(schema, &query, &projection, page, paging, matches)
        })
        .await?
    }

    pub(crate) async fn list_groups_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        query: &ListQuery,
    ) -> ProvResult<Value> {
        let registry = rules.registry.clone();
        let schema = registry.group();
        query.validate(schema)?;
        let projection = query.projection(schema)?;
        let page = query.page(self.settings.default_count, self.settings.max_results());
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let translator = Translator::of(schema, &self.db, ctx.tenant_id);
        let plan = plan(query, &translator);
        let wants_members = projection.includes(schema, "members");

        if let (Sql::Exact(cond), Some(sort)) = (&plan.sql, &plan.sort) {
            let order = query.sort_order;
            let fetched = sql_page(
                (&self.db, &self.seek_cache),
                (ctx, ResourceKind::Group, query, page),
                sort,
                Listed::Groups(scope),
                (cond, None),
                |row: &GroupRow| row.id,
                async |window: &Window| {
                    let cond = window.condition(cond.clone());
                    group_rows(scope, cond, sort, order, window, reader).await
                },
            )
            .await?;
            let ids: Vec<_> = fetched.rows.iter().map(|r| r.id).collect();
            let members = if wants_members {
                members_of(reader, scope, &ids).await?
            } else {
                HashMap::new()
            };
            let mut resources = Vec::with_capacity(fetched.rows.len());
            for row in &fetched.rows {
                let doc = parse_doc(&row.doc)?;
                let group_members =
                    wants_members.then(|| members.get(&row.id).map(Vec::as_slice).unwrap_or(&[]));
                resources.push(
                    self.render_group(ctx, schema, row, &doc, group_members, &projection)
                        .body,
                );
            }
            return Ok(list_response(
                &fetched.paging,
                fetched.total,
                page.start_index,
                resources,
                fetched.cursors,
            ));
        }

        let paging = self.memory_paging(ctx, ResourceKind::Group, query, page)?;
        let turn = self.evaluation_turn(ctx).await;
        let cond = match &plan.sql {
            Sql::Exact(cond) | Sql::Superset(cond) => Some(cond.clone()),
            Sql::Unknown => None,
        };
        let rows = group_candidates(scope, cond, reader).await?;
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
            this.finish_in_memory(schema, &query, &projection, page, paging, matches)
        })
        .await?
    }

    /// The in-memory path's paging: `startIndex` is an offset; a cursor names one too.
    fn memory_paging(
        &self,
        ctx: &RequestContext,
        kind: ResourceKind,
        query: &ListQuery,
        page: roster_scim::list::Page,
    ) -> ProvResult<(u64, PagePlan)> {
        let fingerprint = seek::fingerprint(ctx.tenant_id, kind, query);
        let paging = seek::plan_page(
            query,
            page.offset,
            fingerprint,
            None,
            &self.seek_cache,
            ctx.tenant_id,
        )?;
        Ok((fingerprint, paging))
    }

    fn finish_in_memory(
        &self,
        schema: &ResourceSchema,
        query: &ListQuery,
        projection: &Projection,
        page: roster_scim::list::Page,
        (fingerprint, paging): (u64, PagePlan),
        mut matches: Vec<JsonObject>,
    ) -> ProvResult<Value> {
        sort_in_memory(
            &mut matches,
            schema,
            query.sort_by.as_ref(),
            query.sort_order,
        );
        let total = matches.len() as u64;
        let offset = match paging.start {
            Start::Offset(offset) => offset,
            Start::Seek { position, .. } => position,
        };
        let resources = matches
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit).unwrap_or(usize::MAX))
            .map(|mut object| {
                projection::apply(projection, schema, &mut object);
                Value::Object(object)
            })
            .collect();
        let mut cursors = PageCursors::default();
        if paging.cursored && page.limit > 0 {
            let end = offset.saturating_add(page.limit);
            if end < total {
                cursors.next = Some(seek::encode_cursor(
                    fingerprint,
                    None,
                    Direction::After,
                    end,
                    total,
                ));
            }
            if offset > 0 {
                cursors.previous = Some(seek::encode_cursor(
                    fingerprint,
                    None,
                    Direction::After,
                    offset.saturating_sub(page.limit),
                    total,
                ));
            }
        }
        Ok(list_response(
            &paging,
            total,
            page.start_index,
            resources,
            cursors,
        ))
    }
}
