//! Changing and removing users: PUT, PATCH and DELETE, with the tenant's rules.
//!
//! Rules never block a deactivation or a deletion (only the tenant's allowed actions
//! and a token's domain scope do): a user leaving must always be able to leave.

use futures_util::future::BoxFuture;
use roster_entity::{group, group_member, user};
use roster_scim::JsonObject;
use roster_scim::patch::{PatchRequest, apply_patch};
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, ParseOptions, etag_matches, parse_replacement};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use super::audit::{self, Operation};
use super::columns::{UserColumns, parse_id};
use super::events::{self, EventType, UserSummary};
use super::policy;
use super::user_store::{UserChange, without_active};
use super::users::{ProjectionParams, groups_of, not_found, parse_doc, precondition_failed};
use super::{ProvResult, Provisioning, RequestContext, Resource};
use crate::rules::{DeleteMode, TenantRules};
use crate::time::Timestamp;

impl Provisioning {
    pub async fn replace_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(
            ctx,
            Operation::UserReplace,
            Some(id),
            self.update_user_inner(ctx, id, Update::Replace(body), if_match, params),
        )
        .await
    }

    pub async fn patch_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(
            ctx,
            Operation::UserPatch,
            Some(id),
            self.update_user_inner(ctx, id, Update::Patch(body), if_match, params),
        )
        .await
    }

    async fn update_user_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        update: Update<'_>,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let rules = self.rules(ctx.tenant_id).await?;
        let schema = rules.registry.user();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        // Parsed before the write job, which should hold the writer only for the work
        // that needs the stored user.
        let change = match update {
            Update::Patch(body) => Change::Patch(PatchRequest::parse(body)?),
            Update::Replace(body) => Change::Replace(body.clone()),
        };
        let uuid = parse_id(id).ok_or_else(|| not_found("User", id))?;
        let scope = self.scope(ctx);
        // The user's groups, for the event's document: read before the write job so the
        // writer is not held waiting for them.
        let groups = groups_of(self.db.reader(), scope, &[uuid])
            .await?
            .remove(&uuid);
        let (this, ctx, id) = (self.clone(), ctx.clone(), id.to_owned());
        let if_match = if_match.map(str::to_owned);
        self.db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<Resource>> {
                    Box::pin(async move {
                        let schema = rules.registry.user();
                        let old = this
                            .load_user_for_update(txn, scope, uuid)
                            .await?
                            .ok_or_else(|| not_found("User", &id))?;
                        if let Some(header) = &if_match
                            && !etag_matches(header, &old.version.to_string())
                        {
                            return Err(precondition_failed("user").into());
                        }
                        let old_doc = parse_doc(&old.doc)?;
                        let (new_doc, operation) = match &change {
                            Change::Patch(request) => (
                                apply_patch(schema, &id, &old_doc, request)?.document,
                                Operation::UserPatch,
                            ),
                            Change::Replace(body) => (
                                parse_replacement(schema, body, &old_doc, ParseOptions::default())?
                                    .document,
                                Operation::UserReplace,
                            ),
                        };
                        this.apply_user_update(
                            txn,
                            &ctx,
                            &rules,
                            &old,
                            &old_doc,
                            new_doc,
                            groups.as_deref(),
                            operation,
                            &projection,
                        )
                        .await
                    })
                },
            )
            .await
    }

    /// Writes a replaced or patched user (or, when nothing changed, only its log row),
    /// after the tenant's rules: allowed actions and token scope always; trusted domains
    /// when the identity changes; the location mapping when its inputs change. A user
    /// left inactive is never held back by domains or mapping.
    #[allow(clippy::too_many_arguments)]
    async fn apply_user_update(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        rules: &TenantRules,
        old: &user::Model,
        old_doc: &JsonObject,
        new_doc: JsonObject,
        groups: Option<&[Member]>,
        operation: Operation,
        projection: &Projection,
    ) -> ProvResult<Resource> {
        let scope = self.scope(ctx);
        if &new_doc == old_doc {
            // A no-op update writes no event and keeps the version.
            audit::record_success(txn, ctx, operation, Some(&old.id.to_string()), 200).await?;
            return Ok(self.render_user(ctx, rules, old, old_doc, groups, projection));
        }
        let schema = rules.registry.user();
        let cols = UserColumns::from_doc(&new_doc)?;
        let reactivates = !old.active && cols.active;
        policy::check_update(
            rules,
            old.active && !cols.active,
            reactivates || without_active(old_doc) != without_active(&new_doc),
        )?;
        if let Ok(old_cols) = UserColumns::from_doc(old_doc) {
            policy::check_token_scope(rules, ctx, &old_cols)?;
        }
        policy::check_token_scope(rules, ctx, &cols)?;
        let mut hosts = None;
        if cols.active {
            let identity_changed = cols.user_name_lower != old.user_name_lower
                || cols.primary_email_lower != old.primary_email_lower;
            if identity_changed || reactivates {
                policy::check_domains(rules, &cols)?;
            }
            if reactivates
                || policy::mapping_inputs(rules, schema, old_doc)
                    != policy::mapping_inputs(rules, schema, &new_doc)
            {
                hosts = Some(policy::hosts_for(rules, schema, &new_doc)?);
            }
        }
        let identity_changed =
            cols.user_name_lower != old.user_name_lower || cols.external_id != old.external_id;
        if identity_changed
            && let Some(other) = self
                .conflicts(txn, scope, &cols, Some(old.id))
                .await?
                .first()
        {
            return Err(Self::conflict_error(&cols, Some(other)).into());
        }
        self.store_user_change(
            txn,
            ctx,
            rules,
            UserChange {
                old,
                old_doc,
                new_doc,
                cols,
                groups,
                hosts,
                operation,
                status: 200,
            },
            projection,
        )
        .await
    }

    pub async fn delete_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        self.run(
            ctx,
            Operation::UserDelete,
            Some(id),
            self.delete_user_inner(ctx, id, if_match),
        )
        .await
    }

    async fn delete_user_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let rules = self.rules(ctx.tenant_id).await?;
        let uuid = parse_id(id).ok_or_else(|| not_found("User", id))?;
        let (this, ctx, id) = (self.clone(), ctx.clone(), id.to_owned());
        let if_match = if_match.map(str::to_owned);
        self.db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, ProvResult<()>> {
                    Box::pin(async move {
                        this.delete_user_in(txn, &ctx, &rules, &id, uuid, if_match.as_deref())
                            .await
                    })
                },
            )
            .await
    }

    /// The delete job: the user, its memberships (with member_removed events and new
    /// group versions), its `user.deleted` event and log row — or, with "deactivate and
    /// keep", a deactivation.
    async fn delete_user_in(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        rules: &TenantRules,
        id: &str,
        uuid: Uuid,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let scope = self.scope(ctx);
        let old = self
            .load_user_for_update(txn, scope, uuid)
            .await?
            .ok_or_else(|| not_found("User", id))?;
        if let Some(header) = if_match
            && !etag_matches(header, &old.version.to_string())
        {
            return Err(precondition_failed("user").into());
        }
        let old_doc = parse_doc(&old.doc)?;
        if let Ok(old_cols) = UserColumns::from_doc(&old_doc) {
            policy::check_token_scope(rules, ctx, &old_cols)?;
        }
        if rules.settings.delete_mode == DeleteMode::Deactivate {
            return self
                .deactivate_instead(txn, ctx, rules, &old, &old_doc)
                .await;
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
        let mut writes = self.db.writes();
        if !memberships.is_empty() {
            let now = Timestamp::now().as_micros();
            writes.push(
                &scope
                    .update_groups()
                    .filter(group::Column::Id.is_in(memberships.iter().map(|m| m.0)))
                    .col_expr(
                        group::Column::Version,
                        Expr::col(group::Column::Version).add(1),
                    )
                    .col_expr(group::Column::UpdatedAt, Expr::value(now)),
            );
            let rows: Vec<_> = memberships
                .iter()
                .map(|(group_id, name, external_id)| {
                    let group = events::group_summary(*group_id, name, external_id.as_deref());
                    events::row(
                        ctx,
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
            ctx,
            EventType::UserDeleted,
            uuid,
            &events::user_data(&summary, None, None),
        ));
        writes.push(&audit::success(ctx, Operation::UserDelete, Some(id), 204));
        writes.execute(txn).await?;
        Ok(())
    }

    /// DELETE with "deactivate and keep": the user stays, inactive, with a
    /// `user.deactivated` event (or, already inactive, only the log row).
    async fn deactivate_instead(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        rules: &TenantRules,
        old: &user::Model,
        old_doc: &JsonObject,
    ) -> ProvResult<()> {
        let id = old.id.to_string();
        if !old.active {
            audit::record_success(txn, ctx, Operation::UserDelete, Some(&id), 204).await?;
            return Ok(());
        }
        let mut new_doc = old_doc.clone();
        new_doc.insert("active".into(), Value::Bool(false));
        let cols = UserColumns::from_doc(&new_doc)?;
        let groups = groups_of(txn, self.scope(ctx), &[old.id]).await?;
        self.store_user_change(
            txn,
            ctx,
            rules,
            UserChange {
                old,
                old_doc,
                new_doc,
                cols,
                groups: groups.get(&old.id).map(Vec::as_slice),
                hosts: None,
                operation: Operation::UserDelete,
                status: 204,
            },
            &Projection::all(),
        )
        .await?;
        Ok(())
    }
}

/// A PUT's body or a PATCH's parsed operations, owned by the write job.
enum Change {
    Replace(Value),
    Patch(PatchRequest),
}

/// What a PUT or PATCH sends.
#[derive(Clone, Copy)]
enum Update<'a> {
    Replace(&'a Value),
    Patch(&'a Value),
}
