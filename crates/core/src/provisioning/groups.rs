//! Groups. Members are rows of `group_members`: adding or removing one member of a
//! 50,000-member group touches one row, and `excludedAttributes=members` never loads
//! them.

use futures_util::future::BoxFuture;
use roster_entity::group;
use roster_scim::list::ListQuery;
use roster_scim::patch::{MembersChange, PatchRequest, apply_patch};
use roster_scim::projection::Projection;
use roster_scim::resource::{
    Member, MemberKind, ParseOptions, StoredResource, etag_matches, parse_group, parse_replacement,
    render,
};
use roster_scim::schema::ResourceSchema;
use roster_scim::{JsonObject, ScimError};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::audit::{self, Operation};
use super::columns::{GroupColumns, parse_id};
use super::events::{self, EventType};
use super::members::{MembershipWriter, members_of};
use super::scope::TenantScope;
use super::users::{
    ProjectionParams, not_found, parse_doc, precondition_failed, uniqueness_conflict,
};
use super::{ProvResult, Provisioning, RequestContext, Resource, Written};
use crate::time::Timestamp;
use crate::{Backend, Error};

impl Provisioning {
    pub(crate) fn render_group(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        row: &group::Model,
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

    async fn group_conflict(
        &self,
        txn: &DatabaseTransaction,
        scope: TenantScope,
        cols: &GroupColumns,
        except: Option<Uuid>,
    ) -> ProvResult<Option<ScimError>> {
        let mut same = group::Column::DisplayNameLower.eq(cols.display_name_lower.clone());
        if let Some(external_id) = &cols.external_id {
            same = same.or(group::Column::ExternalId.eq(external_id.clone()));
        }
        let mut query = scope.groups().filter(same);
        if let Some(except) = except {
            query = query.filter(group::Column::Id.ne(except));
        }
        Ok(query.one(txn).await?.map(|other| {
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

    async fn load_group_for_update(
        &self,
        txn: &DatabaseTransaction,
        scope: TenantScope,
        id: Uuid,
    ) -> ProvResult<Option<group::Model>> {
        let mut query = scope.group(id);
        if self.db.backend() == Backend::Postgres {
            query = query.lock_exclusive();
        }
        Ok(query.one(txn).await?)
    }

    fn writer<'a>(
        &self,
        txn: &'a DatabaseTransaction,
        ctx: &'a RequestContext,
        row: &group::Model,
        new_group: bool,
    ) -> MembershipWriter<'a> {
        MembershipWriter::new(txn, ctx, self.scope(ctx), row, new_group)
    }

    pub async fn create_group(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        self.run(
            ctx,
            Operation::GroupCreate,
            None,
            self.create_group_inner(ctx, body, params),
        )
        .await
    }

    async fn create_group_inner(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let (doc, member_ids) = parse_group(schema, body)?;
        let cols = GroupColumns::from_doc(&doc)?;
        let (this, ctx, registry) = (self.clone(), ctx.clone(), registry.clone());
        let resource = self
            .db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<Resource>> {
                    Box::pin(async move {
                        this.insert_group(
                            txn,
                            &ctx,
                            registry.group(),
                            doc,
                            member_ids,
                            cols,
                            &projection,
                        )
                        .await
                    })
                },
            )
            .await?;
        Ok(Written {
            resource,
            created: true,
        })
    }

    /// Inserts a new group with its members, events and log row.
    #[allow(clippy::too_many_arguments)]
    async fn insert_group(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        doc: JsonObject,
        member_ids: Vec<String>,
        cols: GroupColumns,
        projection: &Projection,
    ) -> ProvResult<Resource> {
        let scope = self.scope(ctx);
        if let Some(conflict) = self.group_conflict(txn, scope, &cols, None).await? {
            return Err(conflict.into());
        }
        let now = Timestamp::now().as_micros();
        let row = group::Model {
            id: Uuid::now_v7(),
            tenant_id: ctx.tenant_id.0,
            display_name: cols.display_name.clone(),
            display_name_lower: cols.display_name_lower.clone(),
            external_id: cols.external_id.clone(),
            doc: serde_json::to_string(&doc).map_err(|e| Error::Internal(e.to_string()))?,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let full = self.render_group(ctx, schema, &row, &doc, Some(&[]), &Projection::all());
        let mut writes = self.db.writes();
        writes.push(&group::Entity::insert(group::ActiveModel {
            id: Set(row.id),
            tenant_id: Set(row.tenant_id),
            display_name: Set(row.display_name.clone()),
            display_name_lower: Set(row.display_name_lower.clone()),
            external_id: Set(row.external_id.clone()),
            doc: Set(row.doc.clone()),
            version: Set(row.version),
            created_at: Set(row.created_at),
            updated_at: Set(row.updated_at),
        }));
        writes.push(&events::insert(
            ctx,
            EventType::GroupCreated,
            row.id,
            &events::group_data(
                events::group_summary(row.id, &row.display_name, row.external_id.as_deref()),
                Some(full.body.clone()),
            ),
        ));
        let mut writer = self.writer(txn, ctx, &row, true);
        writer.add(&member_ids).await?;
        let members: Vec<Member> = member_ids
            .iter()
            .filter_map(|id| parse_id(id))
            .filter_map(|id| writer.summary(&id))
            .map(|summary| Member {
                value: summary.id.to_string(),
                kind: MemberKind::User,
                display: None,
            })
            .collect();
        writer.finish(&mut writes).await?;
        writes.push(&audit::success(
            ctx,
            Operation::GroupCreate,
            Some(&full.id),
            201,
        ));
        if let Err(err) = writes.execute(txn).await {
            return Err(
                match uniqueness_conflict(&err, "the group's displayName or externalId") {
                    Some(scim) => scim.into(),
                    None => err.into(),
                },
            );
        }

        Ok(self.render_group(ctx, schema, &row, &doc, Some(&members), projection))
    }

    pub async fn get_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(
            ctx,
            Operation::GroupRead,
            Some(id),
            self.get_group_inner(ctx, id, params),
        )
        .await
    }

    async fn get_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let row = scope
            .group(uuid)
            .one(reader)
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
        self.run(
            ctx,
            Operation::GroupReplace,
            Some(id),
            self.replace_group_inner(ctx, id, body, if_match, params),
        )
        .await
    }

    async fn replace_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = self.registry(ctx.tenant_id).await?;
        let projection = Projection::parse(
            registry.group(),
            params.attributes,
            params.excluded_attributes,
        )?;
        let body = body.clone();
        let schemas = registry.clone();
        let resource = self
            .update_group(
                ctx,
                id,
                if_match,
                projection,
                Operation::GroupReplace,
                true,
                registry,
                move |old| {
                    let parsed =
                        parse_replacement(schemas.group(), &body, old, ParseOptions::default())?;
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

    /// The common part of PUT and PATCH: in one write job, lock and read the group, check
    /// `If-Match`, compute the new document and membership changes, and write them.
    #[allow(clippy::too_many_arguments)]
    async fn update_group<F>(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
        projection: Projection,
        operation: Operation,
        render: bool,
        registry: std::sync::Arc<roster_scim::schema::SchemaRegistry>,
        change: F,
    ) -> ProvResult<Option<Resource>>
    where
        F: FnOnce(&JsonObject) -> ProvResult<(JsonObject, Vec<MembersChange>)> + Send + 'static,
    {
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let (this, ctx, id) = (self.clone(), ctx.clone(), id.to_owned());
        let if_match = if_match.map(str::to_owned);
        self.db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<Option<Resource>>> {
                    Box::pin(async move {
                        let old = this
                            .load_group_for_update(txn, this.scope(&ctx), uuid)
                            .await?
                            .ok_or_else(|| not_found("Group", &id))?;
                        if let Some(header) = &if_match
                            && !etag_matches(header, &old.version.to_string())
                        {
                            return Err(precondition_failed("group").into());
                        }
                        let old_doc = parse_doc(&old.doc)?;
                        let (new_doc, changes) = change(&old_doc)?;
                        this.apply_group_update(
                            txn,
                            &ctx,
                            registry.group(),
                            &old,
                            &old_doc,
                            new_doc,
                            &changes,
                            operation,
                            &projection,
                            render,
                        )
                        .await
                    })
                },
            )
            .await
    }

    /// Writes a group's new document and membership changes with their events.
    /// Returns the resource when `render` is set.
    #[allow(clippy::too_many_arguments)]
    async fn apply_group_update(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        old: &group::Model,
        old_doc: &JsonObject,
        new_doc: JsonObject,
        changes: &[MembersChange],
        operation: Operation,
        projection: &Projection,
        render: bool,
    ) -> ProvResult<Option<Resource>> {
        let scope = self.scope(ctx);
        let doc_changed = &new_doc != old_doc;
        let mut row = old.clone();
        if doc_changed {
            let cols = GroupColumns::from_doc(&new_doc)?;
            if (cols.display_name_lower != old.display_name_lower
                || cols.external_id != old.external_id)
                && let Some(conflict) = self.group_conflict(txn, scope, &cols, Some(old.id)).await?
            {
                return Err(conflict.into());
            }
            row.display_name = cols.display_name;
            row.display_name_lower = cols.display_name_lower;
            row.external_id = cols.external_id;
            row.doc =
                serde_json::to_string(&new_doc).map_err(|e| Error::Internal(e.to_string()))?;
        }
        let mut writer = self.writer(txn, ctx, &row, false);
        let base = self.base_url(ctx);
        for change in changes {
            match change {
                MembersChange::Add(ids) => writer.add(ids).await?,
                MembersChange::Remove(ids) => writer.remove_ids(ids).await?,
                MembersChange::RemoveAll => writer.remove_all().await?,
                MembersChange::Replace(ids) => writer.replace(ids).await?,
                MembersChange::RemoveMatching(filter) => {
                    writer.remove_matching(filter, schema, &base).await?
                }
            }
        }
        let mut writes = self.db.writes();
        if doc_changed || writer.changed() {
            row.version = old.version + 1;
            row.updated_at = std::cmp::max(Timestamp::now().as_micros(), old.updated_at + 1);
            writes.push(
                &scope
                    .update_groups()
                    .filter(group::Column::Id.eq(old.id))
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
            );
        }
        if doc_changed {
            let full = self.render_group(ctx, schema, &row, &new_doc, None, &Projection::all());
            writes.push(&events::insert(
                ctx,
                EventType::GroupUpdated,
                row.id,
                &events::group_data(
                    events::group_summary(row.id, &row.display_name, row.external_id.as_deref()),
                    Some(full.body),
                ),
            ));
        }
        writer.finish(&mut writes).await?;
        let status = if render { 200 } else { 204 };
        writes.push(&audit::success(
            ctx,
            operation,
            Some(&row.id.to_string()),
            status,
        ));
        if let Err(err) = writes.execute(txn).await {
            return Err(
                match uniqueness_conflict(&err, "the group's displayName or externalId") {
                    Some(scim) => scim.into(),
                    None => err.into(),
                },
            );
        }
        if !render {
            return Ok(None);
        }
        let members = if projection.includes(schema, "members") {
            Some(
                members_of(txn, scope, &[row.id])
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
            &new_doc,
            members.as_deref(),
            projection,
        )))
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
        self.run(
            ctx,
            Operation::GroupPatch,
            Some(id),
            self.patch_group_inner(ctx, id, body, if_match, params),
        )
        .await
    }

    async fn patch_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        let registry = self.registry(ctx.tenant_id).await?;
        let projection = Projection::parse(
            registry.group(),
            params.attributes,
            params.excluded_attributes,
        )?;
        let render = params.attributes.is_some() || params.excluded_attributes.is_some();
        let request = PatchRequest::parse(body)?;
        let schemas = registry.clone();
        let resource_id = id.to_owned();
        self.update_group(
            ctx,
            id,
            if_match,
            projection,
            Operation::GroupPatch,
            render,
            registry,
            move |old| {
                let outcome = apply_patch(schemas.group(), &resource_id, old, &request)?;
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
        self.run(
            ctx,
            Operation::GroupDelete,
            Some(id),
            self.delete_group_inner(ctx, id, if_match),
        )
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
        let (this, ctx, id) = (self.clone(), ctx.clone(), id.to_owned());
        let if_match = if_match.map(str::to_owned);
        self.db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<()>> {
                    Box::pin(async move {
                        let old = this
                            .load_group_for_update(txn, scope, uuid)
                            .await?
                            .ok_or_else(|| not_found("Group", &id))?;
                        if let Some(header) = if_match.as_deref()
                            && !etag_matches(header, &old.version.to_string())
                        {
                            return Err(precondition_failed("group").into());
                        }
                        // Its memberships go with it (foreign key cascade); `group.deleted` says so, without
                        // one member_removed event per member.
                        let mut writes = this.db.writes();
                        writes.push(&scope.delete_groups().filter(group::Column::Id.eq(uuid)));
                        writes.push(&events::insert(
                            &ctx,
                            EventType::GroupDeleted,
                            uuid,
                            &events::group_data(
                                events::group_summary(
                                    uuid,
                                    &old.display_name,
                                    old.external_id.as_deref(),
                                ),
                                None,
                            ),
                        ));
                        writes.push(&audit::success(
                            &ctx,
                            Operation::GroupDelete,
                            Some(&id),
                            204,
                        ));
                        writes.execute(txn).await?;
                        Ok(())
                    })
                },
            )
            .await
    }

    pub async fn list_groups(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        self.run(
            ctx,
            Operation::GroupList,
            None,
            self.list_groups_inner(ctx, query),
        )
        .await
    }
}
