//! Users: create (with Okta's reactivation on re-assignment), read, replace, patch,
//! delete, list.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use roster_entity::{group, group_member, user};
use roster_scim::list::ListQuery;
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, MemberKind, StoredResource, etag_matches, parse_user, render};
use roster_scim::schema::ResourceSchema;
use roster_scim::{JsonObject, ScimError, ScimType};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::audit::{self, Operation};
use super::columns::{UserColumns, ensure_active, parse_id};
use super::events::{self, EventType, UserSummary};
use super::scope::TenantScope;
use super::{ProvResult, Provisioning, ProvisioningError, RequestContext, Resource, Written};
use crate::error::is_unique_violation;
use crate::time::Timestamp;
use crate::{Backend, Error};

/// `attributes` / `excludedAttributes` as the client sent them.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProjectionParams<'a> {
    pub attributes: Option<&'a str>,
    pub excluded_attributes: Option<&'a str>,
}

pub(crate) fn not_found(kind: &str, id: &str) -> ScimError {
    ScimError::not_found(format!("{kind} {id} not found"))
}

pub(crate) fn precondition_failed(kind: &str) -> ScimError {
    ScimError::new(
        412,
        None,
        format!("the {kind} has changed since it was read (If-Match does not match its version)"),
    )
}

pub(crate) fn parse_doc(raw: &str) -> ProvResult<JsonObject> {
    serde_json::from_str(raw)
        .map_err(|err| Error::Internal(format!("a stored document is not JSON: {err}")).into())
}

pub(crate) fn uniqueness_conflict(err: &sea_orm::DbErr, what: &str) -> Option<ScimError> {
    is_unique_violation(err).then(|| ScimError::uniqueness(format!("{what} is already taken")))
}

/// Groups of some users, for their `groups` attribute: one query for a whole page.
pub(crate) async fn groups_of(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    user_ids: &[Uuid],
) -> ProvResult<HashMap<Uuid, Vec<Member>>> {
    let mut out: HashMap<Uuid, Vec<Member>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, Uuid, String)> = scope
        .members()
        .select_only()
        .column(group_member::Column::UserId)
        .column(group_member::Column::GroupId)
        .column_as(
            Expr::col((group::Entity, group::Column::DisplayName)),
            "display_name",
        )
        .inner_join(group::Entity)
        .filter(group_member::Column::UserId.is_in(user_ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    for (user_id, group_id, display) in rows {
        out.entry(user_id).or_default().push(Member {
            value: group_id.to_string(),
            kind: MemberKind::Group,
            display: Some(display),
        });
    }
    Ok(out)
}

impl Provisioning {
    /// Renders a stored user as the client sees it.
    pub(crate) fn render_user(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        row: &user::Model,
        doc: &JsonObject,
        groups: Option<&[Member]>,
        projection: &Projection,
    ) -> Resource {
        let version = row.version.to_string();
        let id = row.id.to_string();
        let mut body = render(
            schema,
            &self.base_url(ctx),
            &StoredResource {
                id: &id,
                document: doc,
                created: Timestamp::from_micros(row.created_at).to_datetime(),
                last_modified: Timestamp::from_micros(row.updated_at).to_datetime(),
                version: &version,
                members: None,
            },
            projection,
        );
        if let Some(groups) = groups.filter(|g| !g.is_empty())
            && projection.includes(schema, "groups")
        {
            let base = self.base_url(ctx);
            let list: Vec<Value> = groups
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "value": g.value,
                        "$ref": format!("{base}/Groups/{}", g.value),
                        "display": g.display,
                        "type": "direct",
                    })
                })
                .collect();
            body.insert("groups".into(), Value::Array(list));
        }
        Resource {
            id,
            body: Value::Object(body),
            version,
        }
    }

    /// The users that would collide with `cols` (same userName or externalId), other
    /// than `except`.
    pub(crate) async fn conflicts(
        &self,
        conn: &impl ConnectionTrait,
        scope: TenantScope,
        cols: &UserColumns,
        except: Option<Uuid>,
    ) -> ProvResult<Vec<user::Model>> {
        let mut same = user::Column::UserNameLower.eq(cols.user_name_lower.clone());
        if let Some(external_id) = &cols.external_id {
            same = same.or(user::Column::ExternalId.eq(external_id.clone()));
        }
        let mut query = scope.users().filter(same);
        if let Some(except) = except {
            query = query.filter(user::Column::Id.ne(except));
        }
        Ok(query.limit(2).all(conn).await?)
    }

    pub(crate) fn conflict_error(cols: &UserColumns, other: Option<&user::Model>) -> ScimError {
        let Some(other) = other else {
            return ScimError::uniqueness(format!(
                "userName \"{}\" or its externalId is already taken",
                cols.user_name
            ));
        };
        if other.user_name_lower == cols.user_name_lower {
            ScimError::uniqueness(format!(
                "userName \"{}\" is already taken by user {}",
                cols.user_name, other.id
            ))
        } else {
            ScimError::uniqueness(format!(
                "externalId \"{}\" is already taken by user {}",
                cols.external_id.as_deref().unwrap_or_default(),
                other.id
            ))
        }
    }

    pub(crate) async fn load_user_for_update(
        &self,
        txn: &DatabaseTransaction,
        scope: TenantScope,
        id: Uuid,
    ) -> ProvResult<Option<user::Model>> {
        let mut query = scope.user(id);
        if self.db.backend() == Backend::Postgres {
            query = query.lock_exclusive();
        }
        Ok(query.one(txn).await?)
    }

    pub async fn create_user(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        let result = self.create_user_inner(ctx, body, params).await;
        self.audited(ctx, Operation::UserCreate, None, result).await
    }

    async fn create_user_inner(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.user();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let mut doc = parse_user(schema, body)?.document;
        ensure_active(&mut doc);
        let cols = UserColumns::from_doc(&doc)?;
        let scope = self.scope(ctx);

        // The common case — a new user — costs the writer only its inserts: the check for
        // an existing user runs on a reader, outside the write transaction. If another
        // request takes the name in between, the unique index refuses the insert and the
        // exact path below decides.
        if self
            .conflicts(self.db.reader(), scope, &cols, None)
            .await?
            .is_empty()
        {
            let (this, ctx, registry) = (self.clone(), ctx.clone(), registry.clone());
            let (doc, cols, projection) = (doc.clone(), cols.clone(), projection.clone());
            let inserted = self
                .db
                .write(
                    move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<Resource>> {
                        Box::pin(async move {
                            this.insert_user(txn, &ctx, registry.user(), &doc, &cols, &projection)
                                .await
                        })
                    },
                )
                .await;
            match inserted {
                Ok(resource) => {
                    return Ok(Written {
                        resource,
                        created: true,
                    });
                }
                Err(ProvisioningError::Scim(err))
                    if err.scim_type() == Some(ScimType::Uniqueness) => {}
                Err(err) => return Err(err),
            }
        }

        let (this, job_ctx, registry) = (self.clone(), ctx.clone(), registry.clone());
        let resource = self
            .db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<Resource>> {
                    Box::pin(async move {
                        let ctx = &job_ctx;
                        let schema = registry.user();
                        let scope = this.scope(ctx);
                        let existing = this.conflicts(txn, scope, &cols, None).await?;
                        match existing.as_slice() {
                            [] => {
                                this.insert_user(txn, ctx, schema, &doc, &cols, &projection)
                                    .await
                            }
                            // Okta re-assigns a deactivated user with a new POST: reactivate and
                            // update the same user rather than refuse.
                            [previous] if !previous.active => {
                                let old_doc = parse_doc(&previous.doc)?;
                                let groups = groups_of(txn, scope, &[previous.id]).await?;
                                this.store_user_change(
                                    txn,
                                    ctx,
                                    schema,
                                    previous,
                                    &old_doc,
                                    doc,
                                    cols,
                                    groups.get(&previous.id).map(Vec::as_slice),
                                    Operation::UserCreate,
                                    201,
                                    &projection,
                                )
                                .await
                            }
                            [other, ..] => Err(Self::conflict_error(&cols, Some(other)).into()),
                        }
                    })
                },
            )
            .await?;
        Ok(Written {
            resource,
            created: true,
        })
    }

    /// Inserts a new user with its emails, event and log row in one round trip. A
    /// `uniqueness` error when a unique index refused it (another user took the name
    /// meanwhile).
    async fn insert_user(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        doc: &JsonObject,
        cols: &UserColumns,
        projection: &Projection,
    ) -> ProvResult<Resource> {
        let now = Timestamp::now().as_micros();
        let row = user::Model {
            id: Uuid::now_v7(),
            tenant_id: ctx.tenant_id.0,
            user_name: cols.user_name.clone(),
            user_name_lower: cols.user_name_lower.clone(),
            external_id: cols.external_id.clone(),
            display_name: cols.display_name.clone(),
            display_name_lower: cols.display_name_lower.clone(),
            primary_email_lower: cols.primary_email_lower.clone(),
            active: cols.active,
            doc: serde_json::to_string(doc).map_err(|e| Error::Internal(e.to_string()))?,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let full = self.render_user(ctx, schema, &row, doc, None, &Projection::all());
        let data = events::user_data(&UserSummary::from_row(&row), Some(full.body.clone()));

        let mut writes = self.db.writes();
        writes.push(&user::Entity::insert(user::ActiveModel {
            id: Set(row.id),
            tenant_id: Set(row.tenant_id),
            user_name: Set(row.user_name.clone()),
            user_name_lower: Set(row.user_name_lower.clone()),
            external_id: Set(row.external_id.clone()),
            display_name: Set(row.display_name.clone()),
            display_name_lower: Set(row.display_name_lower.clone()),
            primary_email_lower: Set(row.primary_email_lower.clone()),
            active: Set(row.active),
            doc: Set(row.doc.clone()),
            version: Set(row.version),
            created_at: Set(row.created_at),
            updated_at: Set(row.updated_at),
        }));
        let emails = cols.email_rows(ctx.tenant_id, row.id);
        if !emails.is_empty() {
            writes.push(&roster_entity::user_email::Entity::insert_many(emails));
        }
        writes.push(&events::insert(ctx, EventType::UserCreated, row.id, &data));
        writes.push(&audit::success(
            ctx,
            Operation::UserCreate,
            Some(&full.id),
            201,
        ));
        match writes.execute(txn).await {
            Ok(_) => {}
            Err(err) if uniqueness_conflict(&err, "").is_some() => {
                return Err(Self::conflict_error(cols, None).into());
            }
            Err(err) => return Err(err.into()),
        }
        Ok(if projection_is_all(projection) {
            full
        } else {
            self.render_user(ctx, schema, &row, doc, None, projection)
        })
    }

    pub async fn get_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let result = self.get_user_inner(ctx, id, params).await;
        self.audited(ctx, Operation::UserRead, Some(id), result)
            .await
    }

    async fn get_user_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.user();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let uuid = parse_id(id).ok_or_else(|| not_found("User", id))?;
        let scope = self.scope(ctx);
        // One query: the user and, through a LEFT JOIN, its groups.
        let (row, groups) = if projection.includes(schema, "groups") {
            let mut found = scope
                .user(uuid)
                .find_with_related(group::Entity)
                .all(self.db.reader())
                .await?;
            let (row, groups) = found.pop().ok_or_else(|| not_found("User", id))?;
            let groups: Vec<Member> = groups
                .into_iter()
                .map(|g| Member {
                    value: g.id.to_string(),
                    kind: MemberKind::Group,
                    display: Some(g.display_name),
                })
                .collect();
            (row, groups)
        } else {
            let row = scope
                .user(uuid)
                .one(self.db.reader())
                .await?
                .ok_or_else(|| not_found("User", id))?;
            (row, Vec::new())
        };
        let doc = parse_doc(&row.doc)?;
        Ok(self.render_user(ctx, schema, &row, &doc, Some(&groups), &projection))
    }

    pub async fn delete_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let result = self.delete_user_inner(ctx, id, if_match).await;
        self.audited(ctx, Operation::UserDelete, Some(id), result)
            .await
    }

    async fn delete_user_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let uuid = parse_id(id).ok_or_else(|| not_found("User", id))?;
        let scope = self.scope(ctx);
        let (this, ctx, id) = (self.clone(), ctx.clone(), id.to_owned());
        let if_match = if_match.map(str::to_owned);
        self.db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<()>> {
                    Box::pin(async move {
                        let old = this
                            .load_user_for_update(txn, scope, uuid)
                            .await?
                            .ok_or_else(|| not_found("User", &id))?;
                        if let Some(header) = if_match.as_deref()
                            && !etag_matches(header, &old.version.to_string())
                        {
                            return Err(precondition_failed("user").into());
                        }
                        let summary = UserSummary::from_row(&old);
                        // The memberships go with the user (foreign key cascade); the groups change too,
                        // so each gets a new version and a member_removed event.
                        let memberships: Vec<(Uuid, String, Option<String>)> = scope
                            .groups()
                            .select_only()
                            .column(group::Column::Id)
                            .column(group::Column::DisplayName)
                            .column(group::Column::ExternalId)
                            .inner_join(group_member::Entity)
                            .filter(group_member::Column::UserId.eq(uuid))
                            .into_tuple()
                            .all(txn)
                            .await?;
                        let mut writes = this.db.writes();
                        if !memberships.is_empty() {
                            let now = Timestamp::now().as_micros();
                            writes.push(
                                &scope
                                    .update_groups()
                                    .filter(
                                        group::Column::Id.is_in(memberships.iter().map(|m| m.0)),
                                    )
                                    .col_expr(
                                        group::Column::Version,
                                        Expr::col(group::Column::Version).add(1),
                                    )
                                    .col_expr(group::Column::UpdatedAt, Expr::value(now)),
                            );
                            let rows: Vec<_> = memberships
                                .iter()
                                .map(|(group_id, name, external_id)| {
                                    let group = events::group_summary(
                                        *group_id,
                                        name,
                                        external_id.as_deref(),
                                    );
                                    events::row(
                                        &ctx,
                                        EventType::GroupMemberRemoved,
                                        *group_id,
                                        &events::membership_data(&group, &summary),
                                    )
                                })
                                .collect();
                            writes.push(&roster_entity::event::Entity::insert_many(rows));
                        }
                        writes.push(&scope.delete_users().filter(user::Column::Id.eq(uuid)));
                        writes.push(&events::insert(
                            &ctx,
                            EventType::UserDeleted,
                            uuid,
                            &events::user_data(&summary, None),
                        ));
                        writes.push(&audit::success(&ctx, Operation::UserDelete, Some(&id), 204));
                        writes.execute(txn).await?;
                        Ok(())
                    })
                },
            )
            .await
    }

    pub async fn list_users(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        let result = self.list_users_inner(ctx, query).await;
        self.audited(ctx, Operation::UserList, None, result).await
    }
}

pub(crate) fn projection_is_all(projection: &Projection) -> bool {
    *projection == Projection::all()
}
