//! Users: create (with Okta's reactivation on re-assignment, and the tenant's
//! "override" of an existing user), read, list. Changes are in `user_updates`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::collections::HashMap;

use roster_scim::list::ListQuery;
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, MemberKind, parse_user};
use roster_scim::{JsonObject, ScimError, ScimType};
use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

use super::audit::{LogNote, Operation};
use super::policy;
use super::user_store::{NewUser, UserChange};
use super::{ProvResult, Provisioning, ProvisioningError, RequestContext, Resource, Written};
use crate::Error;
use crate::error::is_unique_violation;
use crate::rules::ExistingUser;
use crate::rules::TenantRules;
use crate::store::columns::{UserColumns, ensure_active, parse_id};
use crate::store::provisioning::{self as store, UserRow};
use crate::store::scope::TenantScope;

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
        .map_err(|err| Error::internal("a stored document is not JSON", err).into())
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
    let rows = crate::store::reads::memberships(conn, scope, user_ids).await?;
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
    ) -> ProvResult<Vec<UserRow>> {
        Ok(store::user_conflicts(conn, scope, cols, except).await?)
    }

    pub(super) fn conflict_error(cols: &UserColumns, other: Option<&UserRow>) -> ScimError {
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

    pub async fn create_user(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        self.run_for_user(
            ctx,
            Operation::UserCreate,
            None,
            super::sent_user_name(body),
            |rules| self.create_user_inner(ctx, rules, body, params),
        )
        .await
    }

    async fn create_user_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        let schema = rules.registry.user();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let mut doc = parse_user(schema, body)?.document;
        ensure_active(&mut doc);
        let cols = UserColumns::from_doc(&doc)?;
        // The tenant's rules decide before anything is written: a refused user leaves
        // nothing behind but the failure's log row.
        policy::check_token_scope(&rules, ctx, &cols)?;
        policy::check_domains(&rules, ctx, &cols, true)?;
        let hosts = policy::hosts_for(&rules, ctx, schema, &doc, policy::HostsFor::Create)?;
        let scope = self.scope(ctx);

        // The common case — a new user — is tried first, without a read: its inserts are
        // all it costs. Should the userName or externalId be taken, the unique index
        // refuses them (nothing is written) and the next attempt looks on a reader for
        // the user holding it: a deactivated one is reactivated, an active one refused
        // or overridden, guarded by the version it was computed from.
        let looked = AtomicBool::new(false);
        let resource = self
            .optimistic(
                "user",
                Self::lock_key(ctx, "user-name", &cols.user_name_lower),
                || async {
                    let existing = if looked.swap(true, Ordering::Relaxed) {
                        self.conflicts(self.db.reader(), scope, &cols, None).await?
                    } else {
                        Vec::new()
                    };
                    match existing.as_slice() {
                        [] => {
                            let (plan, resource) = self.prepare_user_insert(
                                ctx,
                                &rules,
                                NewUser {
                                    doc: &doc,
                                    cols: &cols,
                                    hosts: &hosts,
                                    product_ref: None,
                                    operation: Operation::UserCreate,
                                },
                                &projection,
                            )?;
                            match self.apply_for(ctx.tenant_id, plan).await {
                                Ok(()) => Ok(resource),
                                // Taken: look.
                                Err(ProvisioningError::Scim(err))
                                    if err.scim_type() == Some(ScimType::Uniqueness) =>
                                {
                                    Err(ProvisioningError::Stale)
                                }
                                Err(err) => Err(err),
                            }
                        }
                        // Okta re-assigns a deactivated user with a new POST: reactivate and
                        // update the same user rather than refuse. With "override", an active
                        // user is updated the same way. Either way the answer is 201 with the
                        // existing id.
                        [previous]
                            if !previous.active
                                || rules.settings.existing_user == ExistingUser::Override =>
                        {
                            let old_doc = parse_doc(&previous.doc)?;
                            let mut doc = doc.clone();
                            crate::rules::keep_undefined(schema, &old_doc, &mut doc);
                            if let Ok(old_cols) = UserColumns::from_doc(&old_doc) {
                                policy::check_token_scope(&rules, ctx, &old_cols)?;
                            }
                            if old_doc == doc {
                                // Already exactly this user: nothing to write but the log.
                                let groups =
                                    groups_of(self.db.reader(), scope, &[previous.id]).await?;
                                self.record_noop(
                                    ctx,
                                    Operation::UserCreate,
                                    previous.id,
                                    201,
                                    LogNote::for_user(&previous.user_name, &old_doc),
                                )
                                .await?;
                                return Ok(self.render_user(
                                    ctx,
                                    &rules,
                                    previous,
                                    &old_doc,
                                    groups.get(&previous.id).map(Vec::as_slice),
                                    &projection,
                                ));
                            }
                            let groups = groups_of(self.db.reader(), scope, &[previous.id]).await?;
                            let (plan, resource) = self.prepare_user_change(
                                ctx,
                                &rules,
                                UserChange {
                                    old: previous,
                                    old_doc: &old_doc,
                                    new_doc: doc.clone(),
                                    cols: cols.clone(),
                                    groups: groups.get(&previous.id).map(Vec::as_slice),
                                    hosts: Some(hosts.clone()),
                                    operation: Operation::UserCreate,
                                    status: 201,
                                },
                                &projection,
                            )?;
                            self.apply_for(ctx.tenant_id, plan).await?;
                            Ok(resource)
                        }
                        [other, ..] => Err(Self::conflict_error(&cols, Some(other)).into()),
                    }
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
        self.run(ctx, Operation::UserRead, Some(id), |rules| {
            self.get_user_inner(ctx, rules, id, params)
        })
        .await
    }

    async fn get_user_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let schema = rules.registry.user();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let uuid = parse_id(id).ok_or_else(|| not_found("User", id))?;
        let scope = self.scope(ctx);
        // One query: the user and, through a LEFT JOIN, its groups.
        let (row, groups) = if projection.includes(schema, "groups") {
            let mut found = store::user_with_groups(self.db.reader(), scope, uuid).await?;
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
            let row = store::user(self.db.reader(), scope, uuid)
                .await?
                .ok_or_else(|| not_found("User", id))?;
            (row, Vec::new())
        };
        let doc = parse_doc(&row.doc)?;
        Ok(self.render_user(ctx, &rules, &row, &doc, Some(&groups), &projection))
    }

    pub async fn list_users(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        self.run(ctx, Operation::UserList, None, |rules| {
            self.list_users_inner(ctx, rules, query)
        })
        .await
    }
}
