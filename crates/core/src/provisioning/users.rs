//! Users: create (with Okta's reactivation on re-assignment, and the tenant's
//! "override" of an existing user), read, list. Changes are in `user_updates`.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use roster_entity::{group, group_member, user};
use roster_scim::list::ListQuery;
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, MemberKind, parse_user};
use roster_scim::{JsonObject, ScimError, ScimType};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use super::audit::Operation;
use super::columns::{UserColumns, ensure_active, parse_id};
use super::policy;
use super::scope::TenantScope;
use super::user_store::UserChange;
use super::{ProvResult, Provisioning, ProvisioningError, RequestContext, Resource, Written};
use crate::error::is_unique_violation;
use crate::rules::ExistingUser;
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
    /// The users that would collide with `cols` (same userName or externalId), other
    /// than `except`.
    pub(super) async fn conflicts(
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

    pub(super) fn conflict_error(cols: &UserColumns, other: Option<&user::Model>) -> ScimError {
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

    pub(super) async fn load_user_for_update(
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
        self.run(
            ctx,
            Operation::UserCreate,
            None,
            self.create_user_inner(ctx, body, params),
        )
        .await
    }

    async fn create_user_inner(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        let rules = self.rules(ctx.tenant_id).await?;
        let schema = rules.registry.user();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let mut doc = parse_user(schema, body)?.document;
        ensure_active(&mut doc);
        let cols = UserColumns::from_doc(&doc)?;
        // The tenant's rules decide before anything is written: a refused user leaves
        // nothing behind but the failure's log row.
        policy::check_token_scope(&rules, ctx, &cols)?;
        policy::check_domains(&rules, &cols)?;
        let hosts = policy::hosts_for(&rules, schema, &doc)?;
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
            let (this, ctx, rules) = (self.clone(), ctx.clone(), rules.clone());
            let (doc, cols, hosts, projection) =
                (doc.clone(), cols.clone(), hosts.clone(), projection.clone());
            let inserted = self
                .db
                .write(
                    move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<Resource>> {
                        Box::pin(async move {
                            this.insert_user(txn, &ctx, &rules, &doc, &cols, &hosts, &projection)
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

        let (this, job_ctx) = (self.clone(), ctx.clone());
        let resource = self
            .db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<Resource>> {
                    Box::pin(async move {
                        let ctx = &job_ctx;
                        let scope = this.scope(ctx);
                        let existing = this.conflicts(txn, scope, &cols, None).await?;
                        match existing.as_slice() {
                            [] => {
                                this.insert_user(txn, ctx, &rules, &doc, &cols, &hosts, &projection)
                                    .await
                            }
                            // Okta re-assigns a deactivated user with a new POST: reactivate
                            // and update the same user rather than refuse. With "override",
                            // an active user is updated the same way. Either way the answer
                            // is 201 with the existing id.
                            [previous]
                                if !previous.active
                                    || rules.settings.existing_user == ExistingUser::Override =>
                            {
                                let old_doc = parse_doc(&previous.doc)?;
                                if let Ok(old_cols) = UserColumns::from_doc(&old_doc) {
                                    policy::check_token_scope(&rules, ctx, &old_cols)?;
                                }
                                let groups = groups_of(txn, scope, &[previous.id]).await?;
                                this.store_user_change(
                                    txn,
                                    ctx,
                                    &rules,
                                    UserChange {
                                        old: previous,
                                        old_doc: &old_doc,
                                        new_doc: doc,
                                        cols,
                                        groups: groups.get(&previous.id).map(Vec::as_slice),
                                        hosts: Some(hosts),
                                        operation: Operation::UserCreate,
                                        status: 201,
                                    },
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

    pub async fn get_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(
            ctx,
            Operation::UserRead,
            Some(id),
            self.get_user_inner(ctx, id, params),
        )
        .await
    }

    async fn get_user_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let rules = self.rules(ctx.tenant_id).await?;
        let schema = rules.registry.user();
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
        Ok(self.render_user(ctx, &rules, &row, &doc, Some(&groups), &projection))
    }

    pub async fn list_users(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        self.run(
            ctx,
            Operation::UserList,
            None,
            self.list_users_inner(ctx, query),
        )
        .await
    }
}
