//! Optimistic writes: every SCIM change is computed from a snapshot read on a reader —
//! parsing, PATCH application, rules, membership arithmetic, rendering — and the write
//! job that holds the (on SQLite, shared) writer only applies the precomputed
//! statements, after *guards* that prove the snapshot is still current: the resource's
//! `version` unchanged (`UPDATE … WHERE version = <read>` affects one row), or a set of
//! rows exactly as read. A guard that fails rolls the job back and the whole request is
//! computed again from a fresh snapshot ([`Provisioning::optimistic`]).
//!
//! So no request holds the writer for longer than its own statements take, and on
//! both databases every read-modify-write of a user or group is version-checked: two
//! concurrent writers of one resource never both succeed from the same version.

use std::future::Future;
use std::time::Duration;

use roster_scim::ScimError;
use sea_orm::{DatabaseTransaction, DbErr};

use super::users::uniqueness_conflict;
use super::{ProvResult, Provisioning, ProvisioningError};
use crate::error::is_foreign_key_violation;
use crate::store::Opening;
use crate::store::writes::{Guard, OneTrip, Writes};

/// Event rows per insert statement (9 values each): well under every driver's limit.
pub(crate) const EVENT_ROWS_PER_STATEMENT: usize = 200;

/// Attempts of one request before it gives up with 503: each retry means another
/// request changed the same resource in between.
const MAX_ATTEMPTS: u32 = 8;

/// The statements of one write, with their guards, ready for the write job.
#[derive(Debug)]
pub(crate) struct WritePlan {
    guards: Vec<Guard>,
    writes: Writes,
    /// What a unique-index violation means here ("userName or externalId").
    unique: &'static str,
}

impl WritePlan {
    pub(crate) fn new(writes: Writes, unique: &'static str) -> Self {
        Self {
            guards: Vec::new(),
            writes,
            unique,
        }
    }

    /// Guards the plan with a statement the store built (see [`Guard`]).
    pub(crate) fn guard(&mut self, guard: Guard) {
        self.guards.push(guard);
    }

    /// Adds the guards and writes of `other`: both apply together or not at all.
    pub(crate) fn absorb(&mut self, other: WritePlan) {
        self.guards.extend(other.guards);
        self.writes.append(other.writes);
    }

    pub(crate) fn writes_mut(&mut self) -> &mut Writes {
        &mut self.writes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.guards.is_empty() && self.writes.is_empty()
    }

    /// What the plan costs the writer (see [`Writes::cost`]).
    pub(crate) fn cost(&self) -> usize {
        let guards: usize = self.guards.iter().map(Guard::cost).sum();
        guards + self.writes.cost()
    }

    /// Runs the guards, then the writes, in the savepoint `opening` opens. A failed
    /// guard is [`ProvisioningError::Stale`] (the caller rolls back what ran); a unique
    /// index refusing a row is `uniqueness`.
    ///
    /// On SQLite's group commit it all goes to the writer in one round trip with the
    /// opening ([`OneTrip`]). Should a statement fail there, a plan without guards fails
    /// with that statement's error (the statements before it succeeded); one with guards
    /// is rolled back and run again a statement at a time, since a guard that did not
    /// hold must win over a later write's error.
    pub(crate) async fn apply(self, txn: &DatabaseTransaction, opening: Opening) -> ProvResult<()> {
        if let Some(trip) = opening
            .take_sql()
            .and_then(|open| OneTrip::build(open, &self.guards, &self.writes))
        {
            match trip.run(txn).await {
                Ok(rows) => match OneTrip::guards_held(&self.guards, &rows) {
                    Ok(true) => return Ok(()),
                    Ok(false) => return Err(ProvisioningError::Stale),
                    // A row that is no guard's: nothing is assumed of what ran.
                    Err(_) => opening.roll_back(txn).await?,
                },
                // Without guards the error is the failed statement's own (each statement
                // runs only after the ones before it succeeded): the job fails with it,
                // and the batch rolls it back.
                Err(err) if self.guards.is_empty() => return Err(refusal(err, self.unique)),
                // Should the savepoint not have opened, this fails too and the batch is
                // abandoned (see `store::group_commit`).
                Err(_) => opening.roll_back(txn).await?,
            }
        } else {
            opening.run(txn).await?;
        }
        self.apply_stepwise(txn).await
    }

    /// [`WritePlan::apply`] a statement at a time, in a savepoint already open.
    async fn apply_stepwise(self, txn: &DatabaseTransaction) -> ProvResult<()> {
        let unique = self.unique;
        let map = |err: DbErr| refusal(err, unique);
        for guard in self.guards {
            if !guard.holds(txn).await.map_err(map)? {
                return Err(ProvisioningError::Stale);
            }
        }
        self.writes.execute(txn).await.map_err(map)?;
        Ok(())
    }
}

/// What a statement's error means for a plan: a row it refers to gone since the snapshot
/// (a member's user) is stale; a unique index refusing a row is `uniqueness` (`unique`
/// names what was taken).
fn refusal(err: DbErr, unique: &'static str) -> ProvisioningError {
    if is_foreign_key_violation(&err) {
        return ProvisioningError::Stale;
    }
    match uniqueness_conflict(&err, unique) {
        Some(scim) => scim.into(),
        None => err.into(),
    }
}

impl Provisioning {
    /// Applies `plan` in a write job of the tenant's lane: on SQLite a savepoint of a
    /// coming group commit, on PostgreSQL a transaction of its own.
    pub(crate) async fn apply_for(
        &self,
        tenant: crate::tenants::TenantId,
        plan: WritePlan,
    ) -> ProvResult<()> {
        let cost = plan.cost();
        self.db
            .write_in_lane(
                Some(tenant.0),
                cost,
                move |txn: &DatabaseTransaction, opening: Opening| {
                    Box::pin(plan.apply(txn, opening))
                },
            )
            .await
    }

    /// Runs `attempt` — read a snapshot, compute, apply with guards — until it is not
    /// stale, taking this node's turn at `key` (the resource) first. Gives up with 503
    /// after [`MAX_ATTEMPTS`] (the resource is being changed faster than this request
    /// can be applied; the client retries).
    pub(crate) async fn optimistic<T, F, Fut>(
        &self,
        what: &str,
        key: String,
        attempt: F,
    ) -> ProvResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ProvResult<T>>,
    {
        let _turn = self.locks.turn(key).await;
        self.retry_stale(what, attempt).await
    }

    /// [`Provisioning::optimistic`] without taking a turn (for a request that holds it).
    pub(crate) async fn retry_stale<T, F, Fut>(&self, what: &str, mut attempt: F) -> ProvResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ProvResult<T>>,
    {
        for n in 0..MAX_ATTEMPTS {
            match attempt().await {
                Err(ProvisioningError::Stale) => {
                    if n >= 2 {
                        // Several writers of one resource: spread the next tries out.
                        let jitter = u64::from(crate::crypto::random_bytes::<1>()[0]) % 8;
                        tokio::time::sleep(Duration::from_millis(u64::from(n) * 2 + jitter)).await;
                    }
                }
                other => return other,
            }
        }
        Err(ScimError::new(
            503,
            None,
            format!(
                "the {what} was changed by other requests while this one was applied; try again"
            ),
        )
        .into())
    }
}

impl Provisioning {
    /// A write that changed nothing still leaves its log row (and nothing else).
    pub(crate) async fn record_noop(
        &self,
        ctx: &super::RequestContext,
        operation: super::Operation,
        id: uuid::Uuid,
        status: u16,
        note: super::audit::LogNote,
    ) -> ProvResult<()> {
        let mut plan = WritePlan::new(self.db.writes(), "");
        plan.writes_mut().push(&super::audit::success(
            self.db.clock().now(),
            ctx,
            operation,
            Some(&id.to_string()),
            status,
            note,
        ));
        self.apply_for(ctx.tenant_id, plan).await
    }
}

/// Writers of one resource on this node take turns: without this, N concurrent writers
/// of one user would all compute from one version and N − 1 of them start again, and
/// again. (Across nodes, the version guard alone decides; a retry there is rare.)
/// Entries live only while a writer holds or awaits them.
#[derive(Clone, Debug, Default)]
pub(crate) struct ResourceLocks {
    held: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, LockEntry>>>,
}

type LockEntry = std::sync::Arc<tokio::sync::Mutex<()>>;

/// A turn at heavy work for one tenant on this node (a large body, an evaluation in
/// memory): a tenant's heavy requests run one at a time, whatever its concurrency, so
/// they take at most a share of the node that one request can take.
pub struct HeavyTurn {
    _turn: ResourceTurn,
}

impl std::fmt::Debug for HeavyTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeavyTurn")
    }
}

impl Provisioning {
    /// Waits for the tenant's turn at parsing and applying a large request.
    pub async fn heavy_turn(&self, ctx: &super::RequestContext) -> HeavyTurn {
        HeavyTurn {
            _turn: self.locks.turn(Self::lock_key(ctx, "heavy", "body")).await,
        }
    }

    /// Waits for the tenant's turn at evaluating a filter in memory.
    pub(crate) async fn evaluation_turn(&self, ctx: &super::RequestContext) -> HeavyTurn {
        self.evaluations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeavyTurn {
            _turn: self
                .locks
                .turn(Self::lock_key(ctx, "heavy", "evaluation"))
                .await,
        }
    }
}

/// A turn at writing one resource; the next writer goes when it is dropped.
pub(crate) struct ResourceTurn {
    key: String,
    locks: ResourceLocks,
    entry: Option<LockEntry>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl ResourceLocks {
    /// Waits for the turn at `key` (e.g. `<tenant>/user/<id>`).
    pub(crate) async fn turn(&self, key: String) -> ResourceTurn {
        let entry = {
            let mut held = self
                .held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            held.entry(key.clone()).or_default().clone()
        };
        let guard = entry.clone().lock_owned().await;
        ResourceTurn {
            key,
            locks: self.clone(),
            entry: Some(entry),
            guard: Some(guard),
        }
    }
}

impl Drop for ResourceTurn {
    fn drop(&mut self) {
        self.guard.take();
        let entry = self.entry.take();
        let mut held = self
            .locks
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The map's reference and ours: nobody else holds or awaits this key.
        if entry.is_some_and(|e| std::sync::Arc::strong_count(&e) == 2) {
            held.remove(&self.key);
        }
    }
}
