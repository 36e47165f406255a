//! Replacing (PUT) and patching (PATCH) a user, and storing a user's new version.

use futures_util::future::BoxFuture;
use roster_entity::user;
use roster_scim::JsonObject;
use roster_scim::patch::{PatchRequest, apply_patch};
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, ParseOptions, etag_matches, parse_replacement};
use roster_scim::schema::ResourceSchema;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::Value;

use super::audit::{self, Operation};
use super::columns::{UserColumns, parse_id};
use super::events::{self, EventType, UserSummary};
use super::users::{
    ProjectionParams, groups_of, not_found, parse_doc, precondition_failed, projection_is_all,
    uniqueness_conflict,
};
use super::{ProvResult, Provisioning, RequestContext, Resource};
use crate::Error;
use crate::time::Timestamp;

impl Provisioning {
    /// Stores a new version of an existing user with its event and log row, in one
    /// round trip. `groups` are the user's groups (for the event's document).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn store_user_change(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        old: &user::Model,
        old_doc: &JsonObject,
        new_doc: JsonObject,
        cols: UserColumns,
        groups: Option<&[Member]>,
        operation: Operation,
        status: u16,
        projection: &Projection,
    ) -> ProvResult<Resource> {
        let scope = self.scope(ctx);
        let now = std::cmp::max(Timestamp::now().as_micros(), old.updated_at + 1);
        let mut row = old.clone();
        row.doc = serde_json::to_string(&new_doc).map_err(|e| Error::Internal(e.to_string()))?;
        row.version = old.version + 1;
        row.updated_at = now;
        row.user_name = cols.user_name.clone();
        row.user_name_lower = cols.user_name_lower.clone();
        row.external_id = cols.external_id.clone();
        row.display_name = cols.display_name.clone();
        row.display_name_lower = cols.display_name_lower.clone();
        row.primary_email_lower = cols.primary_email_lower.clone();
        row.active = cols.active;

        let mut writes = self.db.writes();
        writes.push(
            &scope
                .update_users()
                .filter(user::Column::Id.eq(old.id))
                .col_expr(user::Column::Doc, Expr::value(row.doc.clone()))
                .col_expr(user::Column::Version, Expr::value(row.version))
                .col_expr(user::Column::UpdatedAt, Expr::value(row.updated_at))
                .col_expr(user::Column::UserName, Expr::value(row.user_name.clone()))
                .col_expr(
                    user::Column::UserNameLower,
                    Expr::value(row.user_name_lower.clone()),
                )
                .col_expr(
                    user::Column::ExternalId,
                    Expr::value(row.external_id.clone()),
                )
                .col_expr(
                    user::Column::DisplayName,
                    Expr::value(row.display_name.clone()),
                )
                .col_expr(
                    user::Column::DisplayNameLower,
                    Expr::value(row.display_name_lower.clone()),
                )
                .col_expr(
                    user::Column::PrimaryEmailLower,
                    Expr::value(row.primary_email_lower.clone()),
                )
                .col_expr(user::Column::Active, Expr::value(row.active)),
        );
        let old_cols = UserColumns::from_doc(old_doc).ok();
        if old_cols.as_ref().map(|c| &c.emails) != Some(&cols.emails) {
            // Upsert the new list by position, then drop the positions past its end: the
            // two touch different rows, so they may share one statement (PostgreSQL runs
            // the parts of a statement in no set order).
            let emails = cols.email_rows(ctx.tenant_id, old.id);
            if !emails.is_empty() {
                writes.push(
                    &roster_entity::user_email::Entity::insert_many(emails).on_conflict(
                        OnConflict::columns([
                            roster_entity::user_email::Column::UserId,
                            roster_entity::user_email::Column::Position,
                        ])
                        .update_columns([
                            roster_entity::user_email::Column::ValueLower,
                            roster_entity::user_email::Column::TypeLower,
                            roster_entity::user_email::Column::IsPrimary,
                        ])
                        .to_owned(),
                    ),
                );
            }
            let kept = i32::try_from(cols.emails.len()).unwrap_or(i32::MAX);
            writes.push(
                &scope
                    .delete_user_emails()
                    .filter(roster_entity::user_email::Column::UserId.eq(old.id))
                    .filter(roster_entity::user_email::Column::Position.gte(kept)),
            );
        }
        let full = self.render_user(ctx, schema, &row, &new_doc, groups, &Projection::all());
        let kind = EventType::for_user_change(old.active, row.active);
        let data = events::user_data(&UserSummary::from_row(&row), Some(full.body.clone()));
        writes.push(&events::insert(ctx, kind, row.id, &data));
        writes.push(&audit::success(ctx, operation, Some(&full.id), status));
        if let Err(err) = writes.execute(txn).await {
            return Err(match uniqueness_conflict(&err, "userName or externalId") {
                Some(scim) => scim.into(),
                None => err.into(),
            });
        }
        Ok(if projection_is_all(projection) {
            full
        } else {
            self.render_user(ctx, schema, &row, &new_doc, groups, projection)
        })
    }

    pub async fn replace_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let result = self
            .replace_user_inner(ctx, id, body, if_match, params)
            .await;
        self.audited(ctx, Operation::UserReplace, Some(id), result)
            .await
    }

    async fn replace_user_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = self.registry(ctx.tenant_id).await?;
        let projection = Projection::parse(
            registry.user(),
            params.attributes,
            params.excluded_attributes,
        )?;
        let body = body.clone();
        let schemas = registry.clone();
        self.update_user(
            ctx,
            id,
            if_match,
            projection,
            Operation::UserReplace,
            registry,
            move |old| {
                Ok(
                    parse_replacement(schemas.user(), &body, old, ParseOptions::default())?
                        .document,
                )
            },
        )
        .await
    }

    /// The common part of PUT and PATCH: in one write job, lock and read the user, check
    /// `If-Match`, compute the new document from the stored one, and write it.
    #[allow(clippy::too_many_arguments)]
    async fn update_user<F>(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
        projection: Projection,
        operation: Operation,
        registry: std::sync::Arc<roster_scim::schema::SchemaRegistry>,
        new_document: F,
    ) -> ProvResult<Resource>
    where
        F: FnOnce(&JsonObject) -> ProvResult<JsonObject> + Send + 'static,
    {
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
                        let schema = registry.user();
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
                        let new_doc = new_document(&old_doc)?;
                        this.apply_user_update(
                            txn,
                            &ctx,
                            schema,
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

    /// Writes a replaced or patched user (or, when nothing changed, only its log row).
    #[allow(clippy::too_many_arguments)]
    async fn apply_user_update(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        schema: &ResourceSchema,
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
            return Ok(self.render_user(ctx, schema, old, old_doc, groups, projection));
        }
        let cols = UserColumns::from_doc(&new_doc)?;
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
            txn, ctx, schema, old, old_doc, new_doc, cols, groups, operation, 200, projection,
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
        let result = self.patch_user_inner(ctx, id, body, if_match, params).await;
        self.audited(ctx, Operation::UserPatch, Some(id), result)
            .await
    }

    async fn patch_user_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = self.registry(ctx.tenant_id).await?;
        let projection = Projection::parse(
            registry.user(),
            params.attributes,
            params.excluded_attributes,
        )?;
        let request = PatchRequest::parse(body)?;
        let schemas = registry.clone();
        let resource_id = id.to_owned();
        self.update_user(
            ctx,
            id,
            if_match,
            projection,
            Operation::UserPatch,
            registry,
            move |old| Ok(apply_patch(schemas.user(), &resource_id, old, &request)?.document),
        )
        .await
    }
}
