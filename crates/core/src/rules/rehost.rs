//! Host assignments that follow the rules. Whenever a location, a kiosk or a mapping
//! rule changes (or the admin asks to "re-apply rules"), every user of the tenant is
//! evaluated again against the rules as they are now:
//!
//! - the first [`INLINE_USERS`] users (in id order) in the change's own transaction, so
//!   that a small tenant is done when the admin's page comes back;
//! - the rest by a background job: one `host_jobs` row per tenant, with the cursor (the
//!   last user id checked) and the counts, advanced in the same transaction as each
//!   batch of [`BATCH_USERS`] users. A node holds the job under a lease; when it dies,
//!   another node (or the same one restarted) resumes from the cursor.
//!
//! A change made while a job runs starts it again (a new `generation`): a batch computed
//! for the older generation rolls back. Each user whose locations or kiosks change gets
//! one `user.updated` event with the new hosts, in the batch's transaction. Until the job
//! reaches a user, reads hide what no longer exists (see [`crate::api`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::DatabaseTransaction;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Location, RulesService, load_in};
use crate::audit::Change;
use crate::memberships::TenantAccess;
use crate::outbox::EventType;
use crate::provisioning::{Provisioning, RehostBatch, RequestContext};
use crate::store::TenantScope;
use crate::store::places::{self, HostJobRow, JobProgress, JobStart};
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// Users re-evaluated in the transaction of the change itself.
pub const INLINE_USERS: u64 = 500;
/// Users per background batch (one write transaction each).
pub const BATCH_USERS: u64 = 500;
/// Users the "Re-apply rules" preview reads at most before it answers.
pub const PREVIEW_USERS: u64 = 20_000;
/// How long a node holds a job without renewing its lease (each batch renews it).
const LEASE: Duration = Duration::from_secs(60);
/// How often an idle worker looks for jobs.
const POLL: Duration = Duration::from_secs(1);

/// What a change did to users' hosts at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rehosted {
    /// Users whose hosts changed in the change's own transaction.
    pub changed: u64,
    /// Whether more users remain for the background job.
    pub pending: bool,
}

/// The tenant's re-evaluation, as the admin UI shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostJob {
    /// The change that started it (an audit action, e.g. `location.remove`).
    pub reason: String,
    pub running: bool,
    pub checked: u64,
    pub changed: u64,
    pub requested_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// What "Re-apply rules" would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPreview {
    /// Users whose hosts would change (among those checked).
    pub changes: u64,
    pub checked: u64,
    /// Whether every user was checked (else the tenant has more than [`PREVIEW_USERS`]).
    pub complete: bool,
}

/// Location events of a change: the type and the location (after the change, or as it
/// was for `location.deleted`).
pub(super) type PlaceEvents = Vec<(EventType, Location)>;

impl RulesService {
    /// [`RulesService::change`] for locations, kiosks and mapping rules: the change's
    /// location events, and — when `rehost` — the re-evaluation of users' hosts, in the
    /// same transaction.
    pub(super) async fn change_places<T, F>(
        &self,
        scope: &TenantAccess,
        entry: Change,
        rehost: bool,
        change: F,
    ) -> Result<(T, Option<Rehosted>)>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<(T, PlaceEvents)>>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let tenant = TenantScope::from(scope);
        let ctx = RequestContext::for_admin(scope, "");
        let provisioning = self.provisioning.clone();
        let reason = entry.action();
        let at = self.db.clock().now();
        self.change(scope, entry, move |txn| {
            Box::pin(async move {
                let (value, events) = change(txn).await?;
                places::insert_location_events(txn, tenant, at, &events).await?;
                let rehosted = if rehost {
                    Some(start(txn, &provisioning, &ctx, reason).await?)
                } else {
                    None
                };
                Ok((value, rehosted))
            })
        })
        .await
    }

    /// "Re-apply rules": every user evaluated again against the rules as they are.
    pub async fn reapply_hosts(&self, scope: &TenantAccess) -> Result<Rehosted> {
        let entry = Change::new("hosts.reapply").target(
            "rules",
            scope.id().0,
            "Locations and mapping rules",
        );
        let (_, rehosted) = self
            .change_places(scope, entry, true, |_| {
                Box::pin(async move { Ok(((), Vec::new())) })
            })
            .await?;
        rehosted.ok_or_else(|| Error::Internal("re-apply without re-evaluation".to_owned()))
    }

    /// How many users "Re-apply rules" would change, reading at most
    /// [`PREVIEW_USERS`] users (in batches, never the whole tenant at once).
    pub async fn preview_hosts(&self, scope: &TenantAccess) -> Result<HostPreview> {
        let rules = self.rules(scope).await?;
        let ctx = RequestContext::for_admin(scope, "");
        let mut preview = HostPreview {
            changes: 0,
            checked: 0,
            complete: false,
        };
        let mut after = None;
        while preview.checked < PREVIEW_USERS {
            let batch = self
                .provisioning
                .rehost_preview(&ctx, &rules, after, BATCH_USERS)
                .await?;
            preview.checked += batch.checked;
            preview.changes += batch.changed;
            if batch.checked < BATCH_USERS {
                preview.complete = true;
                break;
            }
            after = batch.last;
        }
        Ok(preview)
    }

    /// The tenant's last (or current) re-evaluation, if there was one.
    pub async fn host_job(&self, scope: &TenantAccess) -> Result<Option<HostJob>> {
        let job = places::host_job(self.db.reader(), TenantScope::from(scope)).await?;
        Ok(job.map(|row| HostJob {
            reason: row.reason,
            running: row.running,
            checked: u64::try_from(row.checked).unwrap_or(0),
            changed: u64::try_from(row.changed).unwrap_or(0),
            requested_at: row.requested_at,
            finished_at: row.finished_at,
        }))
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Re-evaluates the first users in the change's transaction and records the job: done,
/// or running from where this left off (a new generation either way, so that a batch
/// of an earlier job in flight rolls back).
async fn start(
    txn: &DatabaseTransaction,
    provisioning: &Provisioning,
    ctx: &RequestContext,
    reason: &str,
) -> Result<Rehosted> {
    let rules = load_in(txn, ctx.tenant_id).await?;
    let batch = provisioning
        .rehost_batch(txn, ctx, &rules, None, INLINE_USERS)
        .await?;
    let done = batch.checked < INLINE_USERS;
    let now = provisioning.clock().now().as_micros();
    places::start_host_job(
        txn,
        TenantScope::from(ctx),
        JobStart {
            reason,
            done,
            cursor: batch.last,
            checked: count(batch.checked),
            changed: count(batch.changed),
            now,
        },
    )
    .await?;
    Ok(Rehosted {
        changed: batch.changed,
        pending: !done,
    })
}

/// Runs the tenants' re-evaluation jobs; one per node (`roster serve`), any number of
/// nodes. Clone freely.
#[derive(Clone, Debug)]
pub struct HostJobWorker {
    db: Database,
    provisioning: Provisioning,
    /// This node, in `lease_owner`.
    node: Arc<str>,
}

/// What one batch of a job did.
enum Step {
    More,
    Done,
}

impl HostJobWorker {
    pub fn new(db: Database, provisioning: Provisioning) -> Self {
        Self {
            db,
            provisioning,
            node: Arc::from(Uuid::now_v7().to_string()),
        }
    }

    pub async fn run(self, stop: CancellationToken) {
        tracing::info!("host re-evaluation worker started");
        loop {
            if let Err(err) = self.run_once(&stop).await {
                tracing::warn!(error = %err, "host re-evaluation round failed; retrying");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(POLL) => {}
            }
        }
        tracing::info!("host re-evaluation worker stopped");
    }

    /// Takes every running job whose lease expired (or that has none) and runs it to
    /// the end, batch by batch. Returns how many jobs it finished.
    pub async fn run_once(&self, stop: &CancellationToken) -> Result<u64> {
        let now = self.db.clock().now().as_micros();
        let due = places::due_host_jobs(self.db.reader(), now).await?;
        let mut finished = 0;
        for job in due {
            if stop.is_cancelled() {
                break;
            }
            if !self.claim(&job, now).await? {
                continue;
            }
            if self.drive(&job, stop).await? {
                finished += 1;
            }
        }
        Ok(finished)
    }

    /// Takes the job's lease, unless another node took it (or the job was started
    /// again) since it was read.
    async fn claim(&self, job: &HostJobRow, now: i64) -> Result<bool> {
        let until = self.db.clock().now().plus(LEASE).as_micros();
        let claimed = places::claim_host_job(
            self.db.writer(),
            TenantScope::of_stored(job.tenant),
            job.generation,
            self.node.to_string(),
            until,
            now,
        )
        .await?;
        Ok(claimed == 1)
    }

    /// Runs a claimed job batch by batch; `true` when it finished, `false` when it was
    /// started again meanwhile (the new generation is taken up by the next round).
    async fn drive(&self, job: &HostJobRow, stop: &CancellationToken) -> Result<bool> {
        let tenant = job.tenant;
        let found = crate::store::tenants::find(self.db.reader(), tenant).await?;
        let Some(slug) = found.map(|tenant| tenant.slug) else {
            return Ok(false);
        };
        let ctx = RequestContext::for_system(tenant, slug);
        loop {
            if stop.is_cancelled() {
                // The lease expires and the job resumes from its cursor.
                return Ok(false);
            }
            let (provisioning, ctx, generation, node) = (
                self.provisioning.clone(),
                ctx.clone(),
                job.generation,
                self.node.clone(),
            );
            let step = self
                .db
                .write(
                    move |txn: &DatabaseTransaction| -> BoxFuture<'_, Result<Step>> {
                        Box::pin(
                            async move { batch(txn, &provisioning, &ctx, generation, &node).await },
                        )
                    },
                )
                .await;
            match step {
                Ok(Step::More) => tokio::task::yield_now().await,
                Ok(Step::Done) => return Ok(true),
                // Started again (or taken over) meanwhile: this batch rolled back.
                Err(Error::Conflict(_)) => return Ok(false),
                Err(err) => return Err(err),
            }
        }
    }
}

/// One batch of a job, with the job's progress, in one transaction. Fails with
/// `Conflict` (rolling the batch back) when the job is no longer this generation's or
/// this node's.
async fn batch(
    txn: &DatabaseTransaction,
    provisioning: &Provisioning,
    ctx: &RequestContext,
    generation: i64,
    node: &str,
) -> Result<Step> {
    let lost = || Error::Conflict("the re-evaluation was started again".to_owned());
    let scope = TenantScope::from(ctx);
    let job = places::host_job(txn, scope)
        .await?
        .filter(|job| {
            job.generation == generation && job.running && job.lease_owner.as_deref() == Some(node)
        })
        .ok_or_else(lost)?;
    let rules = load_in(txn, ctx.tenant_id).await?;
    let RehostBatch {
        last,
        checked,
        changed,
    } = provisioning
        .rehost_batch(txn, ctx, &rules, job.cursor, BATCH_USERS)
        .await?;
    let done = checked < BATCH_USERS;
    let now = provisioning.clock().now().as_micros();
    let progress = JobProgress {
        last,
        checked: count(checked),
        changed: count(changed),
        now,
        // A job that is done gives its lease up; one that is not renews it.
        lease_until: (!done).then(|| provisioning.clock().now().plus(LEASE).as_micros()),
    };
    if places::advance_host_job(txn, scope, generation, node, progress).await? != 1 {
        return Err(lost());
    }
    Ok(if done { Step::Done } else { Step::More })
}
