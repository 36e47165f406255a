//! Users outside the verified domains: users created before a domain was verified (or
//! before "Only users in verified domains" was turned on) stay until someone acts. The
//! admin lists them a page at a time and deactivates all of them in one action, in
//! chunks of [`CHUNK`] users per transaction, so neither the list nor the action ever
//! holds a whole tenant in memory or the writer for long.
//!
//! "Outside" is decided by the database with the same rule as a create's check: the
//! userName (when it is an address) and the primary email must each be in a verified
//! domain, and a user with neither is outside.

use futures_util::future::BoxFuture;
use roster_scim::projection::Projection;
use sea_orm::DatabaseTransaction;
use serde_json::Value;
use uuid::Uuid;

use super::plan::EVENT_ROWS_PER_STATEMENT;
use super::user_store::hosts_json;
use super::users::{groups_of, parse_doc};
use super::{Provisioning, RequestContext};
use crate::audit::{self, Change};
use crate::memberships::TenantAccess;
use crate::outbox::events::{self, EventType, UserSummary};
use crate::paging::{Page, PageSize};
use crate::rules::{TenantRules, TrustedDomain};
use crate::store::provisioning::{self as store, UserRow};
use crate::store::values;
use crate::{Error, Result};

/// Users deactivated per transaction.
const CHUNK: u64 = 500;

/// A user outside the verified domains, as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outsider {
    pub id: Uuid,
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

fn verified(rules: &TenantRules) -> Result<Vec<&TrustedDomain>> {
    let domains: Vec<_> = rules.verified_domains().collect();
    if domains.is_empty() {
        // Everyone would be outside: never a one-click deactivation of a whole tenant.
        return Err(Error::invalid(
            "domain",
            "verify a domain first: without a verified domain every user is outside",
        ));
    }
    Ok(domains)
}

fn internal(err: super::ProvisioningError) -> Error {
    match err {
        super::ProvisioningError::Internal(err) => err,
        other => Error::Internal(other.to_string()),
    }
}

impl Provisioning {
    /// Active users outside the tenant's verified domains, by id, a page at a time.
    /// `Invalid` when no domain is verified.
    pub async fn users_outside_domains(
        &self,
        access: &TenantAccess,
        after: Option<Uuid>,
        size: PageSize,
    ) -> Result<Page<Outsider, Uuid>> {
        let rules = self.rules(access.id()).await.map_err(internal)?;
        let domains = verified(&rules)?;
        let rows = store::users_outside(
            (&self.db, self.db.reader()),
            crate::store::TenantScope::from(access),
            &domains,
            after,
            size.probe(),
            false,
        )
        .await?;
        let items = rows
            .into_iter()
            .map(|row| Outsider {
                id: row.id,
                user_name: row.user_name,
                display_name: row.display_name,
                email: row.primary_email_lower,
            })
            .collect();
        Ok(Page::from_probe(items, size, |u: &Outsider| u.id))
    }

    /// How many active users are outside the verified domains, counted up to `cap`
    /// (`cap + 1` means "more than `cap`").
    pub async fn count_users_outside_domains(
        &self,
        access: &TenantAccess,
        cap: u64,
    ) -> Result<u64> {
        let rules = self.rules(access.id()).await.map_err(internal)?;
        let domains = verified(&rules)?;
        let ids = store::ids_outside(
            self.db.reader(),
            crate::store::TenantScope::from(access),
            &domains,
            cap.saturating_add(1),
        )
        .await?;
        Ok(ids.len() as u64)
    }

    /// Deactivates every active user outside the verified domains, each with a new
    /// version and a `user.deactivated` event, [`CHUNK`] users per transaction with an
    /// audit row. Says how many.
    pub async fn deactivate_users_outside_domains(
        &self,
        access: &TenantAccess,
        request_id: &str,
    ) -> Result<u64> {
        let ctx = RequestContext::for_admin(access, request_id);
        let rules = self.rules(ctx.tenant_id).await.map_err(internal)?;
        let names: Vec<String> = verified(&rules)?.iter().map(|d| d.describe()).collect();
        let mut total = 0;
        let mut after: Option<Uuid> = None;
        loop {
            let (this, job_ctx, job_rules, acting, names) = (
                self.clone(),
                ctx.clone(),
                rules.clone(),
                access.clone(),
                names.clone(),
            );
            let at = self.db.clock().now();
            let chunk = self
                .db
                .write(
                    move |txn: &DatabaseTransaction| -> BoxFuture<'_, Result<Option<(Uuid, u64)>>> {
                        Box::pin(async move {
                            let domains: Vec<_> = job_rules.verified_domains().collect();
                            // Locked (PostgreSQL) until the chunk commits: each user's new
                            // document is computed from this read, and a SCIM write in
                            // between would otherwise be overwritten.
                            let rows = store::users_outside(
                                (&this.db, txn),
                                this.scope(&job_ctx),
                                &domains,
                                after,
                                CHUNK,
                                true,
                            )
                            .await?;
                            let Some(last) = rows.last().map(|row| row.id) else {
                                return Ok(None);
                            };
                            let count = rows.len() as u64;
                            audit::record(
                                txn,
                                at,
                                &acting,
                                Change::new("domain.deactivate_outsiders")
                                    .target(
                                        "users",
                                        acting.id().0,
                                        "Users outside the verified domains",
                                    )
                                    .after(serde_json::json!({
                                        "deactivated": count,
                                        "verified_domains": names,
                                    })),
                            )
                            .await?;
                            this.store_deactivations(txn, &job_ctx, &job_rules, rows)
                                .await?;
                            Ok(Some((last, count)))
                        })
                    },
                )
                .await?;
            let Some((last, count)) = chunk else {
                break;
            };
            total += count;
            after = Some(last);
            if count < CHUNK {
                break;
            }
        }
        Ok(total)
    }

    /// Writes `active: false` for these users, each with a new version and an event.
    async fn store_deactivations(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        rules: &TenantRules,
        rows: Vec<UserRow>,
    ) -> Result<()> {
        let scope = self.scope(ctx);
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let groups = groups_of(txn, scope, &ids).await.map_err(internal)?;
        let now = self.db.clock().now().as_micros();
        let mut writes = self.db.writes();
        let mut event_rows = Vec::with_capacity(rows.len());
        for mut row in rows {
            let mut doc = parse_doc(&row.doc).map_err(internal)?;
            doc.insert("active".into(), Value::Bool(false));
            row.doc = serde_json::to_string(&doc).map_err(|e| Error::Internal(e.to_string()))?;
            row.active = false;
            row.version += 1;
            row.updated_at = std::cmp::max(now, row.updated_at + 1);
            store::deactivate_user(&mut writes, scope, row.id, &row.doc, row.updated_at);
            let full = self.render_user(
                ctx,
                rules,
                &row,
                &doc,
                groups.get(&row.id).map(Vec::as_slice),
                &Projection::all(),
            );
            values::write(
                &mut writes,
                scope,
                rules.registry.user(),
                row.id,
                &full.body,
                &doc,
                false,
            )
            .map_err(|e| Error::internal("indexing a deactivated user", e))?;
            let data = events::user_data(
                &UserSummary::from_row(&row),
                Some(full.body),
                Some(hosts_json(rules, row.hosts.as_deref())),
            );
            event_rows.push(events::row(
                self.db.clock().now(),
                ctx,
                EventType::UserDeactivated,
                row.id,
                &data,
            ));
        }
        for chunk in event_rows.chunks(EVENT_ROWS_PER_STATEMENT) {
            store::insert_events(&mut writes, chunk);
        }
        writes.execute(txn).await?;
        Ok(())
    }
}
