//! Re-evaluating where users are hosts after the tenant's locations, kiosks or mapping
//! rules changed. Users are read in id order, a bounded batch at a time (keyset paging,
//! never the whole tenant); each user whose locations or kiosks change gets a new
//! version and one `user.updated` event carrying the new hosts, in the batch's own
//! transaction. [`crate::rules`] decides when a batch runs (in the change's transaction,
//! or under the background job).

use std::cmp::max;

use roster_scim::JsonObject;
use roster_scim::projection::Projection;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use uuid::Uuid;

use super::user_store::hosts_json;
use super::users::{groups_of, parse_doc};
use super::{Provisioning, ProvisioningError, RequestContext};
use crate::outbox::events::{self, EventType, UserSummary};
use crate::rules::{Hosts, TenantRules};
use crate::store::provisioning::{self as store, UserRow};
use crate::{Error, Result};

/// What one batch found (and, when applied, changed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RehostBatch {
    /// The id of the last user read: where the next batch starts.
    pub last: Option<Uuid>,
    /// Users read.
    pub checked: u64,
    /// Users whose hosts differ from what the rules say now.
    pub changed: u64,
}

/// Where the rules make a user a host now: the targets (that still exist) of the first
/// rule that matches, else nowhere. Unlike a SCIM write, a user who matches nothing is
/// never refused here: it simply becomes a host nowhere.
pub(crate) fn hosts_now(rules: &TenantRules, doc: &JsonObject) -> Hosts {
    let schema = rules.registry.user();
    rules
        .mapping
        .iter()
        .find(|rule| rule.matches(&rule.values_in(schema, doc)))
        .map(|rule| {
            let mut hosts = Hosts::of_rule(rule);
            hosts.locations.retain(|id| rules.location(*id).is_some());
            hosts.kiosks.retain(|id| rules.kiosk(*id).is_some());
            hosts
        })
        .unwrap_or_default()
}

/// Whether two assignments name the same locations and kiosks (the rule that decided
/// does not count: the product sees only where the user is a host).
pub(crate) fn same_targets(a: &Hosts, b: &Hosts) -> bool {
    let sorted = |ids: &[Uuid]| {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    sorted(&a.locations) == sorted(&b.locations) && sorted(&a.kiosks) == sorted(&b.kiosks)
}

fn internal(err: ProvisioningError) -> Error {
    match err {
        ProvisioningError::Internal(err) => err,
        ProvisioningError::Scim(err) => Error::Internal(err.to_string()),
        ProvisioningError::Stale => Error::Internal("a stale write escaped".to_owned()),
    }
}

/// The users of one batch whose hosts change, with their documents and new hosts.
type Changes = Vec<(UserRow, JsonObject, Hosts)>;

impl Provisioning {
    async fn rehost_read(
        &self,
        conn: &impl ConnectionTrait,
        ctx: &RequestContext,
        rules: &TenantRules,
        after: Option<Uuid>,
        limit: u64,
        lock: bool,
    ) -> Result<(RehostBatch, Changes)> {
        // On several nodes a SCIM write may commit between this read and the batch's
        // update; locking the batch's rows makes it wait (and then retry on the new
        // version). SQLite has one writer at a time.
        let rows = store::users_after(&self.db, conn, self.scope(ctx), after, limit, lock).await?;
        let mut batch = RehostBatch {
            last: rows.last().map(|row| row.id),
            checked: rows.len() as u64,
            changed: 0,
        };
        let mut changes = Vec::new();
        for row in rows {
            let doc = parse_doc(&row.doc).map_err(internal)?;
            let hosts = hosts_now(rules, &doc);
            if !same_targets(&Hosts::from_stored(row.hosts.as_deref()), &hosts) {
                changes.push((row, doc, hosts));
            }
        }
        batch.changed = changes.len() as u64;
        Ok((batch, changes))
    }

    /// Counts, without changing anything, the users after `after` (at most `limit`)
    /// whose hosts the rules would change.
    pub(crate) async fn rehost_preview(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<RehostBatch> {
        let (batch, _) = self
            .rehost_read(self.db.reader(), ctx, rules, after, limit, false)
            .await?;
        Ok(batch)
    }

    /// Re-evaluates the users after `after` (at most `limit`) with `rules` — the rules
    /// as `txn` sees them — and stores the new hosts of those whose hosts change, each
    /// with a new version and one `user.updated` event.
    pub(crate) async fn rehost_batch(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        rules: &TenantRules,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<RehostBatch> {
        let (mut batch, changes) = self
            .rehost_read(txn, ctx, rules, after, limit, true)
            .await?;
        if changes.is_empty() {
            return Ok(batch);
        }
        let scope = self.scope(ctx);
        let ids: Vec<Uuid> = changes.iter().map(|(row, _, _)| row.id).collect();
        let groups = groups_of(txn, scope, &ids).await.map_err(internal)?;
        let now = self.db.clock().now().as_micros();
        let mut events_rows = Vec::with_capacity(changes.len());
        batch.changed = 0;
        for (mut row, doc, hosts) in changes {
            let old_version = row.version;
            row.hosts = hosts.to_stored();
            row.version += 1;
            row.updated_at = max(now, row.updated_at + 1);
            let updated = store::set_hosts(txn, scope, old_version, &row).await?;
            if updated == 0 {
                // Changed meanwhile (only possible without the row lock): that write
                // carried its own event; this one is not sent.
                continue;
            }
            batch.changed += 1;
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
        if !events_rows.is_empty() {
            store::insert_events_now(txn, events_rows).await?;
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_locations_and_kiosks_count() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let one = Hosts {
            rule: Some(Uuid::now_v7()),
            locations: vec![a, b],
            kiosks: vec![],
        };
        let other = Hosts {
            rule: None,
            locations: vec![b, a],
            kiosks: vec![],
        };
        assert!(same_targets(&one, &other));
        assert!(!same_targets(&one, &Hosts::default()));
    }
}
