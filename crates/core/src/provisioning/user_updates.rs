//! Changing and removing users: PUT, PATCH and DELETE, with the tenant's rules.
//!
//! Rules never block a deactivation or a deletion (only the tenant's allowed actions
//! and a token's domain scope do): a user leaving must always be able to leave. With
//! "Delete the user" as what a deactivation does, a PUT or PATCH setting `active: false`
//! deletes the user exactly as DELETE would (`user.deleted`, one transaction).

use std::sync::Arc;

use roster_scim::JsonObject;
use roster_scim::patch::{PatchRequest, apply_patch};
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, ParseOptions, etag_matches, parse_replacement};
use serde_json::Value;
use uuid::Uuid;

use super::audit::{self, LogNote, Operation};
use super::plan::{EVENT_ROWS_PER_STATEMENT, WritePlan};
use super::policy;
use super::user_store::{UserChange, without_active};
use super::users::{ProjectionParams, groups_of, not_found, parse_doc, precondition_failed};
use super::{ProvResult, Provisioning, RequestContext, Resource};
use crate::outbox::events::{self, EventType, UserSummary};
use crate::rules::{DeactivateMode, DeleteMode, TenantRules};
use crate::store::columns::{UserColumns, parse_id};
use crate::store::provisioning::{self as store, UserRow};

impl Provisioning {
    pub async fn replace_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run_for_user(
            ctx,
            Operation::UserReplace,
            Some(id),
            super::sent_user_name(body),
            |rules| self.update_user_inner(ctx, rules, id, Update::Replace(body), if_match, params),
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
        self.run(ctx, Operation::UserPatch, Some(id), |rules| {
            self.update_user_inner(ctx, rules, id, Update::Patch(body), if_match, params)
        })
        .await
    }

    async fn update_user_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        id: &str,
        update: Update<'_>,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let schema = rules.registry.user();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let change = match update {
            Update::Patch(body) => Change::Patch(PatchRequest::parse(body)?),
            Update::Replace(body) => Change::Replace(body),
        };
        let uuid = parse_id(id).ok_or_else(|| not_found("User", id))?;
        let scope = self.scope(ctx);
        self.optimistic(
            "user",
            Self::lock_key(ctx, "user", &uuid.to_string()),
            || async {
                let reader = self.db.reader();
                let old = store::user(reader, scope, uuid)
                    .await?
                    .ok_or_else(|| not_found("User", id))?;
                if let Some(header) = if_match
                    && !etag_matches(header, &old.version.to_string())
                {
                    return Err(precondition_failed("user").into());
                }
                let old_doc = parse_doc(&old.doc)?;
                let (mut new_doc, operation) = match &change {
                    Change::Patch(request) => (
                        apply_patch(schema, id, &old_doc, request)?.document,
                        Operation::UserPatch,
                    ),
                    Change::Replace(body) => (
                        parse_replacement(schema, body, &old_doc, ParseOptions::default())?
                            .document,
                        Operation::UserReplace,
                    ),
                };
                // Values of attributes whose definition was removed stay aside.
                crate::rules::keep_undefined(schema, &old_doc, &mut new_doc);
                let groups = groups_of(reader, scope, &[uuid]).await?.remove(&uuid);
                self.update_user_from(
                    ctx,
                    &rules,
                    &old,
                    &old_doc,
                    new_doc,
                    groups.as_deref(),
                    operation,
                    &projection,
                )
                .await
            },
        )
        .await
    }

    /// Writes a replaced or patched user (or, when nothing changed, only its log row),
    /// after the tenant's rules: allowed actions and token scope always; trusted domains
    /// when the identity changes; the location mapping when its inputs change. A user
    /// left inactive is never held back by domains or mapping. Everything is decided
    /// here, on the snapshot `old`; the write applies only to that version.
    #[allow(clippy::too_many_arguments)]
    async fn update_user_from(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        old: &UserRow,
        old_doc: &JsonObject,
        new_doc: JsonObject,
        groups: Option<&[Member]>,
        operation: Operation,
        projection: &Projection,
    ) -> ProvResult<Resource> {
        let scope = self.scope(ctx);
        if &new_doc == old_doc {
            // A no-op update writes no event and keeps the version.
            self.record_noop(
                ctx,
                operation,
                old.id,
                200,
                LogNote::for_user(&old.user_name, old_doc),
            )
            .await?;
            return Ok(self.render_user(ctx, rules, old, old_doc, groups, projection));
        }
        let schema = rules.registry.user();
        let cols = UserColumns::from_doc(&new_doc)?;
        let reactivates = !old.active && cols.active;
        let deactivates = old.active && !cols.active;
        // "Delete the user" on deactivation: whatever else the request changes goes with
        // the user, so only "Deactivate users" decides.
        let deletes = deactivates && rules.settings.deactivate_mode == DeactivateMode::Delete;
        policy::check_update(
            rules,
            ctx,
            deactivates || reactivates,
            !deletes && without_active(old_doc) != without_active(&new_doc),
        )?;
        if let Ok(old_cols) = UserColumns::from_doc(old_doc) {
            policy::check_token_scope(rules, ctx, &old_cols)?;
        }
        policy::check_token_scope(rules, ctx, &cols)?;
        if deletes {
            // The event and the answer show the user as the identity provider left it,
            // inactive and in no group; from now on its id is unknown (404).
            let mut row = old.clone();
            row.active = false;
            self.remove_user(ctx, &row, operation, 200).await?;
            return Ok(self.render_user(ctx, rules, &row, &new_doc, None, projection));
        }
        let mut hosts = None;
        if cols.active {
            let identity_changed = cols.user_name_lower != old.user_name_lower
                || cols.primary_email_lower != old.primary_email_lower;
            // With "Only users in verified domains", a user who stays active must be in
            // one; otherwise only a new identity or a reactivation is checked.
            if identity_changed || reactivates || rules.settings.domains_only {
                policy::check_domains(rules, ctx, &cols, false)?;
            }
            if reactivates
                || policy::mapping_inputs(rules, schema, old_doc)
                    != policy::mapping_inputs(rules, schema, &new_doc)
            {
                let write = if reactivates {
                    policy::HostsFor::Reactivation
                } else {
                    policy::HostsFor::Update
                };
                hosts = Some(policy::hosts_for(rules, ctx, schema, &new_doc, write)?);
            }
        }
        let identity_changed =
            cols.user_name_lower != old.user_name_lower || cols.external_id != old.external_id;
        if identity_changed
            && let Some(other) = self
                .conflicts(self.db.reader(), scope, &cols, Some(old.id))
                .await?
                .first()
        {
            return Err(Self::conflict_error(&cols, Some(other)).into());
        }
        let (plan, resource) = self.prepare_user_change(
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
        )?;
        self.apply_for(ctx.tenant_id, plan).await?;
        Ok(resource)
    }

    pub async fn delete_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        self.run(ctx, Operation::UserDelete, Some(id), |rules| {
            self.delete_user_inner(ctx, rules, id, if_match)
        })
        .await
    }

    async fn delete_user_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let uuid = parse_id(id).ok_or_else(|| not_found("User", id))?;
        self.optimistic(
            "user",
            Self::lock_key(ctx, "user", &uuid.to_string()),
            || self.delete_user_once(ctx, &rules, id, uuid, if_match),
        )
        .await
    }

    /// One attempt at a DELETE: the user, its memberships (with member_removed events and
    /// new group versions), its `user.deleted` event and log row — or, with "deactivate
    /// and keep", a deactivation. Guarded by the user's version and by its memberships
    /// being exactly those read.
    async fn delete_user_once(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        id: &str,
        uuid: Uuid,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let old = store::user(reader, scope, uuid)
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
            return self.deactivate_instead(ctx, rules, &old, &old_doc).await;
        }
        self.remove_user(ctx, &old, Operation::UserDelete, 204)
            .await
    }

    /// Deletes a user as read (`old`): its memberships (with member_removed events and
    /// new group versions), the row, its `user.deleted` event and the log row of
    /// `operation` — one transaction, guarded by the user's version and by its
    /// memberships being exactly those read.
    async fn remove_user(
        &self,
        ctx: &RequestContext,
        old: &UserRow,
        operation: Operation,
        status: u16,
    ) -> ProvResult<()> {
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let uuid = old.id;
        let summary = UserSummary::from_row(old);
        // The memberships go with the user; the groups change too, so each gets a new
        // version and a member_removed event. The guard proves they are still these.
        let memberships = store::groups_of_user(reader, scope, uuid).await?;
        let mut plan = WritePlan::new(self.db.writes(), "");
        plan.guard(store::delete_memberships_of(
            &self.db,
            scope,
            uuid,
            memberships.iter().map(|m| m.0.to_string()).collect(),
        ));
        plan.guard(store::delete_user(&self.db, scope, uuid, old.version));
        let writes = plan.writes_mut();
        if !memberships.is_empty() {
            let now = self.db.clock().now().as_micros();
            store::bump_groups(writes, scope, memberships.iter().map(|m| m.0), now);
            let rows: Vec<_> = memberships
                .iter()
                .map(|(group_id, name, external_id)| {
                    let group = events::group_summary(*group_id, name, external_id.as_deref());
                    events::row(
                        self.db.clock().now(),
                        ctx,
                        EventType::GroupMemberRemoved,
                        *group_id,
                        &events::membership_data(&group, &summary),
                    )
                })
                .collect();
            for chunk in rows.chunks(EVENT_ROWS_PER_STATEMENT) {
                store::insert_events(writes, chunk);
            }
        }
        writes.push(&events::insert(
            self.db.clock().now(),
            ctx,
            EventType::UserDeleted,
            uuid,
            &events::user_data(&summary, None, None),
        ));
        writes.push(&audit::success(
            self.db.clock().now(),
            ctx,
            operation,
            Some(&uuid.to_string()),
            status,
            LogNote::named(Some(&old.user_name)),
        ));
        self.apply_for(ctx.tenant_id, plan).await
    }

    /// DELETE with "deactivate and keep": the user stays, inactive, with a
    /// `user.deactivated` event (or, already inactive, only the log row).
    async fn deactivate_instead(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        old: &UserRow,
        old_doc: &JsonObject,
    ) -> ProvResult<()> {
        if !old.active {
            return self
                .record_noop(
                    ctx,
                    Operation::UserDelete,
                    old.id,
                    204,
                    LogNote::named(Some(&old.user_name)),
                )
                .await;
        }
        let mut new_doc = old_doc.clone();
        new_doc.insert("active".into(), Value::Bool(false));
        let cols = UserColumns::from_doc(&new_doc)?;
        let groups = groups_of(self.db.reader(), self.scope(ctx), &[old.id]).await?;
        let (plan, _) = self.prepare_user_change(
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
        )?;
        self.apply_for(ctx.tenant_id, plan).await
    }
}

/// A PUT's body or a PATCH's parsed operations.
enum Change<'a> {
    Replace(&'a Value),
    Patch(PatchRequest),
}

/// What a PUT or PATCH sends.
#[derive(Clone, Copy)]
enum Update<'a> {
    Replace(&'a Value),
    Patch(&'a Value),
}
