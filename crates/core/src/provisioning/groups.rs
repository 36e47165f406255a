//! Groups. Members are rows of `group_members`: adding or removing one member of a
//! 50,000-member group touches one row, and `excludedAttributes=members` never loads
//! them.

use std::sync::Arc;

use roster_scim::list::ListQuery;
use roster_scim::patch::{MembersChange, PatchRequest, apply_patch};
use roster_scim::projection::Projection;
use roster_scim::resource::{
    Member, MemberKind, ParseOptions, StoredResource, etag_matches, parse_group, parse_replacement,
    render,
};
use roster_scim::schema::ResourceSchema;
use roster_scim::{JsonObject, ScimError, ScimType};
use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

use super::audit::{self, LogNote, Operation};
use super::members::{MEMBERSHIP_STEP, MembershipPlan, members_of};
use super::plan::WritePlan;
use super::users::{ProjectionParams, not_found, parse_doc, precondition_failed};
use super::{ProvResult, Provisioning, ProvisioningError, RequestContext, Resource, Written};
use crate::Error;
use crate::outbox::events::{self, EventType};
use crate::rules::TenantRules;
use crate::store::columns::{GroupColumns, parse_id};
use crate::store::provisioning::{self as store, GroupRow};
use crate::store::scope::TenantScope;
use crate::time::Timestamp;

impl Provisioning {
    pub(crate) fn render_group(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        row: &GroupRow,
        doc: &JsonObject,
        members: Option<&[Member]>,
        projection: &Projection,
    ) -> Resource {
        let version = row.version.to_string();
        let id = row.id.to_string();
        let body = render(
            schema,
            &self.base_url(ctx),
            &StoredResource {
                id: &id,
                document: doc,
                created: Timestamp::from_micros(row.created_at).to_datetime(),
                last_modified: Timestamp::from_micros(row.updated_at).to_datetime(),
                version: &version,
                members,
            },
            projection,
        );
        Resource {
            id,
            body: Value::Object(body),
            version,
        }
    }

    pub(super) async fn group_conflict(
        &self,
        conn: &impl ConnectionTrait,
        scope: TenantScope,
        cols: &GroupColumns,
        except: Option<Uuid>,
    ) -> ProvResult<Option<ScimError>> {
        Ok(store::group_conflict(conn, scope, cols, except)
            .await?
            .map(|other| {
                if other.display_name_lower == cols.display_name_lower {
                    ScimError::uniqueness(format!(
                        "a group named \"{}\" already exists ({})",
                        cols.display_name, other.id
                    ))
                } else {
                    ScimError::uniqueness(format!(
                        "externalId \"{}\" is already taken by group {}",
                        cols.external_id.as_deref().unwrap_or_default(),
                        other.id
                    ))
                }
            }))
    }

    pub async fn create_group(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        self.run(ctx, Operation::GroupCreate, None, |rules| {
            self.create_group_inner(ctx, rules, body, params)
        })
        .await
    }

    async fn create_group_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        let registry = rules.registry.clone();
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let (doc, member_ids) = parse_group(schema, body)?;
        let cols = GroupColumns::from_doc(&doc)?;
        let changes = vec![MembersChange::Add(member_ids)];
        let resource = self
            .optimistic(
                "group",
                Self::lock_key(ctx, "group-name", &cols.display_name_lower),
                || self.insert_group(ctx, schema, &doc, &changes, &cols, &projection),
            )
            .await?;
        Ok(Written {
            resource,
            created: true,
        })
    }

    /// One attempt at inserting a new group with its members, events and log row.
    async fn insert_group(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        doc: &JsonObject,
        changes: &[MembersChange],
        cols: &GroupColumns,
        projection: &Projection,
    ) -> ProvResult<Resource> {
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        if let Some(conflict) = self.group_conflict(reader, scope, cols, None).await? {
            return Err(conflict.into());
        }
        let now = self.db.clock().now().as_micros();
        let row = GroupRow {
            id: Uuid::now_v7(),
            tenant_id: ctx.tenant_id.0,
            display_name: cols.display_name.clone(),
            display_name_lower: cols.display_name_lower.clone(),
            external_id: cols.external_id.clone(),
            doc: serde_json::to_string(doc)
                .map_err(|e| Error::internal("serialising a group", e))?,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let base = self.base_url(ctx);
        let mut membership =
            MembershipPlan::compute(reader, scope, row.id, true, changes, (schema, &base)).await?;
        let mut members: Vec<Member> = membership
            .added
            .iter()
            .map(|id| Member {
                value: id.to_string(),
                kind: MemberKind::User,
                display: None,
            })
            .collect();
        members.sort_by(|a, b| a.value.cmp(&b.value));
        let steps = membership.split_off(MEMBERSHIP_STEP);
        let full = self.render_group(ctx, schema, &row, doc, Some(&[]), &Projection::all());
        let mut plan = WritePlan::new(self.db.writes(), "the group's displayName or externalId");
        let writes = plan.writes_mut();
        store::insert_group(writes, scope, &row);
        let summary = events::group_summary(row.id, &row.display_name, row.external_id.as_deref());
        writes.push(&events::insert(
            self.db.clock().now(),
            ctx,
            EventType::GroupCreated,
            row.id,
            &events::group_data(summary.clone(), Some(full.body.clone())),
        ));
        membership.push_writes(self.db.clock().now(), ctx, scope, row.id, &summary, writes);
        if steps.is_empty() {
            writes.push(&audit::success(
                self.db.clock().now(),
                ctx,
                Operation::GroupCreate,
                Some(&full.id),
                201,
                LogNote::default(),
            ));
        }
        match self.apply_for(ctx.tenant_id, plan).await {
            Ok(()) => {}
            // Taken meanwhile: the next attempt names the group that took it.
            Err(ProvisioningError::Scim(err)) if err.scim_type() == Some(ScimType::Uniqueness) => {
                return Err(ProvisioningError::Stale);
            }
            Err(err) => return Err(err),
        }
        let mut row = row;
        if !steps.is_empty() {
            row = self
                .membership_steps(ctx, schema, row.id, steps, Operation::GroupCreate, 201)
                .await?;
        }
        Ok(self.render_group(ctx, schema, &row, doc, Some(&members), projection))
    }

    pub async fn get_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(ctx, Operation::GroupRead, Some(id), |rules| {
            self.get_group_inner(ctx, rules, id, params)
        })
        .await
    }

    async fn get_group_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = rules.registry.clone();
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let row = store::group(reader, scope, uuid)
            .await?
            .ok_or_else(|| not_found("Group", id))?;
        let doc = parse_doc(&row.doc)?;
        let members = if projection.includes(schema, "members") {
            Some(
                members_of(reader, scope, &[uuid])
                    .await?
                    .remove(&uuid)
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        Ok(self.render_group(ctx, schema, &row, &doc, members.as_deref(), &projection))
    }

    pub async fn replace_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(ctx, Operation::GroupReplace, Some(id), |rules| {
            self.replace_group_inner(ctx, rules, id, body, if_match, params)
        })
        .await
    }

    async fn replace_group_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = rules.registry.clone();
        let projection = Projection::parse(
            registry.group(),
            params.attributes,
            params.excluded_attributes,
        )?;
        let resource = self
            .update_group(
                ctx,
                id,
                if_match,
                projection,
                Operation::GroupReplace,
                true,
                registry.group(),
                |old| {
                    let parsed =
                        parse_replacement(registry.group(), body, old, ParseOptions::default())?;
                    Ok((
                        parsed.document,
                        vec![MembersChange::Replace(parsed.members)],
                    ))
                },
            )
            .await?;
        resource.ok_or_else(|| {
            crate::Error::Internal("a rendered group was expected".to_owned()).into()
        })
    }

    /// PATCH a group. Answers with the resource only when the client asked for
    /// attributes; otherwise 204 (a 50,000-member group is not sent back for each change).
    pub async fn patch_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        self.run(ctx, Operation::GroupPatch, Some(id), |rules| {
            self.patch_group_inner(ctx, rules, id, body, if_match, params)
        })
        .await
    }

    async fn patch_group_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        let registry = rules.registry.clone();
        let projection = Projection::parse(
            registry.group(),
            params.attributes,
            params.excluded_attributes,
        )?;
        let render = params.attributes.is_some() || params.excluded_attributes.is_some();
        let request = PatchRequest::parse(body)?;
        self.update_group(
            ctx,
            id,
            if_match,
            projection,
            Operation::GroupPatch,
            render,
            registry.group(),
            |old| {
                let outcome = apply_patch(registry.group(), id, old, &request)?;
                Ok((outcome.document, outcome.members))
            },
        )
        .await
    }

    pub async fn delete_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        self.run(ctx, Operation::GroupDelete, Some(id), |_| {
            self.delete_group_inner(ctx, id, if_match)
        })
        .await
    }

    async fn delete_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let scope = self.scope(ctx);
        self.optimistic(
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
                // Its memberships go with it (foreign key cascade); `group.deleted` says so,
                // without one member_removed event per member.
                let mut plan = WritePlan::new(self.db.writes(), "");
                plan.guard(store::delete_group(&self.db, scope, uuid, old.version));
                let writes = plan.writes_mut();
                writes.push(&events::insert(
                    self.db.clock().now(),
                    ctx,
                    EventType::GroupDeleted,
                    uuid,
                    &events::group_data(
                        events::group_summary(uuid, &old.display_name, old.external_id.as_deref()),
                        None,
                    ),
                ));
                writes.push(&audit::success(
                    self.db.clock().now(),
                    ctx,
                    Operation::GroupDelete,
                    Some(id),
                    204,
                    LogNote::default(),
                ));
                self.apply_for(ctx.tenant_id, plan).await
            },
        )
        .await
    }

    pub async fn list_groups(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        self.run(ctx, Operation::GroupList, None, |rules| {
            self.list_groups_inner(ctx, rules, query)
        })
        .await
    }
}
