//! The common write path of a group's PUT and PATCH: read, check `If-Match`, write the
//! new document and membership changes guarded by the version they were computed from,
//! and apply a large membership change in steps.

use roster_scim::JsonObject;
use roster_scim::patch::MembersChange;
use roster_scim::projection::Projection;
use roster_scim::resource::etag_matches;
use roster_scim::schema::ResourceSchema;
use uuid::Uuid;

use super::audit::{self, LogNote, Operation};
use super::members::{MEMBERSHIP_STEP, MembershipPlan, members_of};
use super::plan::WritePlan;
use super::users::{not_found, parse_doc, precondition_failed};
use super::{ProvResult, Provisioning, RequestContext, Resource};
use crate::Error;
use crate::outbox::events::{self, EventType};
use crate::store::columns::{GroupColumns, parse_id};
use crate::store::provisioning::{self as store, GroupRow};

impl Provisioning {
    /// The common part of PUT and PATCH: read the group on a reader, check `If-Match`,
    /// compute the new document and membership changes, and write them guarded by the
    /// version they were computed from — again from a fresh read if it changed.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn update_group<F>(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
        projection: Projection,
        operation: Operation,
        render: bool,
        schema: &ResourceSchema,
        change: F,
    ) -> ProvResult<Option<Resource>>
    where
        F: Fn(&JsonObject) -> ProvResult<(JsonObject, Vec<MembersChange>)>,
    {
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let scope = self.scope(ctx);
        let written = self
            .optimistic(
                "group",
                Self::lock_key(ctx, "group", &uuid.to_string()),
                || async {
                    let old = store::group(self.db.reader(), scope, uuid)
                        .await?
                        .ok_or_else(|| not_found("Group", id))?;
                    if let Some(header) = if_match
                        && !etag_matches(header, &old.version.to_string())
                    {
                        return Err(precondition_failed("group").into());
                    }
                    let old_doc = parse_doc(&old.doc)?;
                    let (new_doc, changes) = change(&old_doc)?;
                    let status = if render { 200 } else { 204 };
                    self.update_group_from(
                        ctx, schema, &old, &old_doc, new_doc, &changes, operation, status,
                    )
                    .await
                },
            )
            .await?;
        if !render {
            return Ok(None);
        }
        let (row, doc) = written;
        let members = if projection.includes(schema, "members") {
            Some(
                members_of(self.db.reader(), scope, &[row.id])
                    .await?
                    .remove(&row.id)
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        Ok(Some(self.render_group(
            ctx,
            schema,
            &row,
            &doc,
            members.as_deref(),
            &projection,
        )))
    }

    /// One attempt at writing a group's new document and membership changes with their
    /// events, decided on the snapshot `old`. Returns the group as written.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn update_group_from(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        old: &GroupRow,
        old_doc: &JsonObject,
        new_doc: JsonObject,
        changes: &[MembersChange],
        operation: Operation,
        status: u16,
    ) -> ProvResult<(GroupRow, JsonObject)> {
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let doc_changed = &new_doc != old_doc;
        let mut row = old.clone();
        if doc_changed {
            let cols = GroupColumns::from_doc(&new_doc)?;
            if (cols.display_name_lower != old.display_name_lower
                || cols.external_id != old.external_id)
                && let Some(conflict) = self
                    .group_conflict(reader, scope, &cols, Some(old.id))
                    .await?
            {
                return Err(conflict.into());
            }
            row.display_name = cols.display_name;
            row.display_name_lower = cols.display_name_lower;
            row.external_id = cols.external_id;
            row.doc = serde_json::to_string(&new_doc)
                .map_err(|e| Error::internal("serialising a group", e))?;
        }
        let base = self.base_url(ctx);
        let mut membership =
            MembershipPlan::compute(reader, scope, old.id, false, changes, (schema, &base)).await?;
        let steps = membership.split_off(MEMBERSHIP_STEP);
        if !doc_changed && membership.is_empty() {
            self.record_noop(ctx, operation, old.id, status, LogNote::default())
                .await?;
            return Ok((row, new_doc));
        }
        row.version = old.version + 1;
        row.updated_at = std::cmp::max(self.db.clock().now().as_micros(), old.updated_at + 1);
        let mut plan = WritePlan::new(self.db.writes(), "the group's displayName or externalId");
        plan.guard(store::update_group(&self.db, scope, old.version, &row));
        let writes = plan.writes_mut();
        let summary = events::group_summary(row.id, &row.display_name, row.external_id.as_deref());
        if doc_changed {
            let full = self.render_group(ctx, schema, &row, &new_doc, None, &Projection::all());
            writes.push(&events::insert(
                self.db.clock().now(),
                ctx,
                EventType::GroupUpdated,
                row.id,
                &events::group_data(summary.clone(), Some(full.body)),
            ));
        }
        membership.push_writes(self.db.clock().now(), ctx, scope, row.id, &summary, writes);
        if steps.is_empty() {
            writes.push(&audit::success(
                self.db.clock().now(),
                ctx,
                operation,
                Some(&row.id.to_string()),
                status,
                LogNote::default(),
            ));
        }
        self.apply_for(ctx.tenant_id, plan).await?;
        if !steps.is_empty() {
            row = self
                .membership_steps(ctx, schema, row.id, steps, operation, status)
                .await?;
        }
        Ok((row, new_doc))
    }

    /// Applies the rest of a large membership change, one step per write job. Each
    /// step reads the group afresh and is guarded by its version: another writer may go
    /// between two steps (on another node; this node's writers of the group wait for
    /// the turn this request holds), and the step then applies to what it finds — the
    /// changes are additions and removals, which mean the same on any state. The last
    /// step carries the log row. Returns the group as the last step left it.
    pub(super) async fn membership_steps(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        id: Uuid,
        steps: Vec<Vec<MembersChange>>,
        operation: Operation,
        status: u16,
    ) -> ProvResult<GroupRow> {
        let scope = self.scope(ctx);
        let base = self.base_url(ctx);
        let last = steps.len() - 1;
        let mut row = None;
        for (n, changes) in steps.iter().enumerate() {
            let written = self
                .retry_stale("group", || async {
                    let mut current = store::group(self.db.reader(), scope, id)
                        .await?
                        .ok_or_else(|| not_found("Group", &id.to_string()))?;
                    let membership = MembershipPlan::compute_with(
                        self.db.reader(),
                        scope,
                        id,
                        false,
                        changes,
                        (schema, &base),
                        true,
                    )
                    .await?;
                    let mut plan = WritePlan::new(self.db.writes(), "");
                    let writes = plan.writes_mut();
                    if !membership.is_empty() {
                        let summary = events::group_summary(
                            id,
                            &current.display_name,
                            current.external_id.as_deref(),
                        );
                        membership.push_writes(
                            self.db.clock().now(),
                            ctx,
                            scope,
                            id,
                            &summary,
                            writes,
                        );
                    }
                    if n == last {
                        writes.push(&audit::success(
                            self.db.clock().now(),
                            ctx,
                            operation,
                            Some(&id.to_string()),
                            status,
                            LogNote::default(),
                        ));
                    }
                    if !membership.is_empty() {
                        let version = current.version + 1;
                        let updated_at = std::cmp::max(
                            self.db.clock().now().as_micros(),
                            current.updated_at + 1,
                        );
                        plan.guard(store::bump_group(
                            &self.db,
                            scope,
                            id,
                            current.version,
                            (version, updated_at),
                        ));
                        current.version = version;
                        current.updated_at = updated_at;
                    }
                    if !plan.is_empty() {
                        self.apply_for(ctx.tenant_id, plan).await?;
                    }
                    Ok(current)
                })
                .await?;
            row = Some(written);
        }
        row.ok_or_else(|| Error::Internal("no membership step ran".to_owned()).into())
    }
}
