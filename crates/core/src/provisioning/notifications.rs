//! Notification settings changed by an admin: one user's, or the tenant's defaults
//! re-applied to every user. The identity provider never changes them (SCIM shows them
//! read-only), but a change is a change of the user: new version, `user.updated` event.

use futures_util::future::BoxFuture;
use roster_scim::projection::Projection;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use super::user_store::hosts_json;
use super::users::{groups_of, parse_doc};
use super::{Provisioning, RequestContext};
use crate::audit::{self, Change};
use crate::memberships::TenantAccess;
use crate::outbox::events::{self, EventType, UserSummary};
use crate::rules::{NotificationMatrix, ReapplyOutcome, TenantRules};
use crate::store::provisioning::{self as store, UserRow};
use crate::{Error, Result};

/// Stored notification settings as the audit log shows them.
fn stored_json(stored: Option<&str>) -> serde_json::Value {
    stored
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Users changed per transaction when defaults are re-applied: bounded memory and short
/// write transactions however large the tenant.
const CHUNK: u64 = 500;

fn internal(err: super::ProvisioningError) -> Error {
    match err {
        super::ProvisioningError::Internal(err) => err,
        super::ProvisioningError::Scim(err) => Error::Internal(err.to_string()),
        super::ProvisioningError::Stale => Error::Internal("a stale write escaped".to_owned()),
    }
}

impl Provisioning {
    /// Sets one user's settings. `false` when they were already these.
    pub async fn set_user_notifications(
        &self,
        access: &TenantAccess,
        request_id: &str,
        user_id: Uuid,
        settings: &NotificationMatrix,
    ) -> Result<bool> {
        let ctx = RequestContext::for_admin(access, request_id);
        let rules = self.rules(ctx.tenant_id).await.map_err(internal)?;
        let stored = settings.to_stored();
        let at = self.db.clock().now();
        let this = self.clone();
        let acting = access.clone();
        self.db
            .write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, Result<bool>> {
                    Box::pin(async move {
                        let row = store::user(txn, this.scope(&ctx), user_id)
                            .await?
                            .ok_or(Error::NotFound)?;
                        if row.notifications.as_deref() == Some(stored.as_str()) {
                            return Ok(false);
                        }
                        let entry = Change::new("user_notifications.update")
                            .target("user", row.id, row.user_name.clone())
                            .before(stored_json(row.notifications.as_deref()))
                            .after(stored_json(Some(&stored)));
                        this.store_notifications(txn, &ctx, &rules, vec![row], &stored)
                            .await?;
                        audit::record(txn, at, &acting, entry).await?;
                        Ok(true)
                    })
                },
            )
            .await
    }

    /// Copies the tenant's defaults to every user whose settings differ, and says how
    /// many that was.
    pub async fn reapply_notification_defaults(
        &self,
        access: &TenantAccess,
        request_id: &str,
    ) -> Result<ReapplyOutcome> {
        let ctx = RequestContext::for_admin(access, request_id);
        let rules = self.rules(ctx.tenant_id).await.map_err(internal)?;
        let defaults = rules.default_notifications().to_stored();
        let mut changed = 0;
        let mut after: Option<Uuid> = None;
        loop {
            // One write job per chunk: a tenant of many users does not hold the writer
            // for all of them at once.
            let (this, job_ctx, job_rules, job_defaults) =
                (self.clone(), ctx.clone(), rules.clone(), defaults.clone());
            // The first chunk's transaction carries the audit row: the change starts
            // there (each chunk commits on its own, so a later one cannot hold it).
            let entry = after.is_none().then(|| {
                (
                    access.clone(),
                    Change::new("notifications.reapply")
                        .target(
                            "notification_defaults",
                            access.id().0,
                            "Default notification settings",
                        )
                        .after(stored_json(Some(&defaults))),
                )
            });
            let at = self.db.clock().now();
            let chunk = self
                .db
                .write(
                    move |txn: &DatabaseTransaction| -> BoxFuture<'_, Result<Option<(Uuid, u64)>>> {
                        Box::pin(async move {
                            let rows = store::users_without_settings(
                                txn,
                                this.scope(&job_ctx),
                                &job_defaults,
                                after,
                                CHUNK,
                            )
                            .await?;
                            let Some(last) = rows.last().map(|row| row.id) else {
                                return Ok(None);
                            };
                            if let Some((acting, entry)) = entry {
                                audit::record(txn, at, &acting, entry).await?;
                            }
                            let count = rows.len() as u64;
                            this.store_notifications(
                                txn,
                                &job_ctx,
                                &job_rules,
                                rows,
                                &job_defaults,
                            )
                            .await?;
                            Ok(Some((last, count)))
                        })
                    },
                )
                .await?;
            let Some((last, count)) = chunk else {
                break;
            };
            changed += count;
            after = Some(last);
            if count < CHUNK {
                break;
            }
        }
        Ok(ReapplyOutcome { changed })
    }

    /// Writes new settings for these users, each with a new version and an event.
    async fn store_notifications(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        rules: &TenantRules,
        rows: Vec<UserRow>,
        stored: &str,
    ) -> Result<()> {
        let scope = self.scope(ctx);
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let groups = groups_of(txn, scope, &ids).await.map_err(internal)?;
        let now = self.db.clock().now().as_micros();
        let mut writes = self.db.writes();
        store::set_notifications(&mut writes, scope, &ids, stored, now);
        let mut events_rows = Vec::with_capacity(rows.len());
        for mut row in rows {
            row.notifications = Some(stored.to_owned());
            row.version += 1;
            row.updated_at = now;
            let doc = parse_doc(&row.doc).map_err(internal)?;
            let full = self.render_user(
                ctx,
                rules,
                &row,
                &doc,
                groups.get(&row.id).map(Vec::as_slice),
                &Projection::all(),
            );
            let data = events::user_data(
                &UserSummary::from_row(&row),
                Some(full.body),
                Some(hosts_json(rules, row.hosts.as_deref())),
            );
            events_rows.push(events::row(
                self.db.clock().now(),
                ctx,
                EventType::UserUpdated,
                row.id,
                &data,
            ));
        }
        store::insert_events(&mut writes, &events_rows);
        writes.execute(txn).await?;
        Ok(())
    }
}
