//! Group commit for SQLite: the writes of many requests in one transaction.
//!
//! SQLite admits one writer. Each transaction pays for `BEGIN`, `COMMIT`, and at commit
//! the WAL frames of every page it dirtied (the users table and its six indexes, emails,
//! events, the log…), plus an fsync at each checkpoint. With the requests of many
//! clients queued for the one write connection, Roster runs the queued requests together:
//! one `BEGIN IMMEDIATE`, each request in its own savepoint (a failure rolls back that
//! request alone), one `COMMIT`, and only then does any request get its answer — a write
//! is acknowledged once it is durable, exactly as with a transaction per request. Pages
//! shared by the batch are written to the WAL once.
//!
//! **Statements per write.** Every statement is a round trip to the connection's worker
//! thread, the one resource every writer queues for. A request's savepoint is released
//! in the same statement that opens the next one (`RELEASE …; SAVEPOINT …`), the last by
//! `COMMIT`, and a job is handed that [`Opening`] to send *as the start of its own first
//! statement*: a SCIM write — its guards and its [`super::writes::Writes`] — is then one
//! round trip on the writer (see `provisioning::plan`), where it was three. A job that
//! cannot fold it in runs it alone first ([`Opening::run`]). (Savepoints are released
//! rather than nested so that SQLite's statement journal holds one request's pages at a
//! time, as with a savepoint per request.)
//!
//! The savepoints of a batch alternate between two names, so a job's rollback names a
//! savepoint that exists only if its own opening ran: should the opening have failed
//! half-way (the previous job's savepoint released, this one's not opened), the rollback
//! fails rather than undoing the previous job. Should a rollback fail (the transaction
//! is then in no known state), the batch is abandoned: the writes still queued in it
//! never run and every request of it gets an error.
//!
//! The batch forms by itself: while one commits, the next requests queue.
//!
//! **Fairness.** Queued writes wait in one lane per tenant, and a batch takes them
//! round-robin across lanes, up to [`MAX_BATCH`] writes and a cost budget (bound values,
//! a proxy for the rows a write touches): a tenant with a thousand queued writes gets
//! one turn per round like a tenant with one, and one heavy write is not followed by
//! more of its kind in the same transaction while others wait.
//!
//! A job must use only the transaction it is given: calling `Database::write` or
//! `begin_write` from inside a job would wait for the connection the batch holds.

use futures_util::future::BoxFuture;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::metrics::WriteQueueMetrics;

/// Requests taken into one transaction at most.
const MAX_BATCH: usize = 128;

/// Cost (bound values) one batch takes before it stops adding writes; a single write
/// may exceed it and then commits alone.
const BATCH_BUDGET: usize = 4_000;

/// Batches slower than this are logged at debug level (with how long the writes and the
/// commit took).
const SLOW_BATCH: std::time::Duration = std::time::Duration::from_millis(100);

/// A queued write: whose it is (its lane) and what it costs.
struct Queued {
    lane: Option<uuid::Uuid>,
    cost: usize,
    job: Job,
}

/// What a job leaves for after the commit: its answer, given the commit's outcome.
pub(crate) type Delivery = Box<dyn FnOnce(Result<(), DbErr>) + Send>;

/// What a job did: whether its writes stand (`false`: roll back to its savepoint), and
/// its answer.
pub(crate) struct Ran {
    wrote: bool,
    delivery: Delivery,
}

pub(crate) type Job =
    Box<dyn for<'t> FnOnce(&'t DatabaseTransaction, Opening) -> BoxFuture<'t, Ran> + Send>;

/// The savepoint a job of a batch runs in: the statement that opens it (releasing the
/// previous job's), to be sent before — or as the start of — the job's first statement,
/// and the statement that rolls back to it. Outside a group commit (PostgreSQL) there is
/// none: the job has a transaction of its own.
#[derive(Clone, Debug)]
pub(crate) struct Opening {
    savepoint: Option<(&'static str, &'static str)>,
    /// Whether the job took the opening statement to send (the batch sends it for a job
    /// that did not, so the next job's `RELEASE` finds the savepoint it names).
    sent: Arc<AtomicBool>,
}

/// Job `i` of a batch runs in savepoint `i % 2`: job 0 opens it; job `i > 0` releases
/// the other and opens its own in one statement.
const OPEN_FIRST: &str = "SAVEPOINT roster_write_0";
const OPEN_NEXT: [&str; 2] = [
    "RELEASE SAVEPOINT roster_write_1; SAVEPOINT roster_write_0",
    "RELEASE SAVEPOINT roster_write_0; SAVEPOINT roster_write_1",
];
const ROLLBACK_TO: [&str; 2] = [
    "ROLLBACK TO SAVEPOINT roster_write_0",
    "ROLLBACK TO SAVEPOINT roster_write_1",
];

impl Opening {
    /// No savepoint: the job owns its transaction.
    pub(crate) fn none() -> Self {
        Opening {
            savepoint: None,
            sent: Arc::new(AtomicBool::new(false)),
        }
    }

    fn of_job(i: usize) -> Self {
        let open = if i == 0 { OPEN_FIRST } else { OPEN_NEXT[i % 2] };
        Opening {
            savepoint: Some((open, ROLLBACK_TO[i % 2])),
            sent: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The statements that open the job's savepoint, taken by a job that sends them as
    /// the start of its first statement; `None` when there is nothing to open.
    pub(crate) fn take_sql(&self) -> Option<&'static str> {
        let (open, _) = self.savepoint?;
        self.sent.store(true, Ordering::Relaxed);
        Some(open)
    }

    /// Undoes what the job wrote since its savepoint opened (the savepoint stays open).
    pub(crate) async fn roll_back(&self, conn: &impl ConnectionTrait) -> Result<(), DbErr> {
        if let Some((_, rollback)) = self.savepoint {
            conn.execute_unprepared(rollback).await?;
        }
        Ok(())
    }

    /// Opens the job's savepoint in a round trip of its own.
    pub(crate) async fn run(&self, conn: &impl ConnectionTrait) -> Result<(), DbErr> {
        if let Some(open) = self.take_sql() {
            conn.execute_unprepared(open).await?;
        }
        Ok(())
    }

    fn was_sent(&self) -> bool {
        self.sent.load(Ordering::Relaxed)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::UnboundedSender<Queued>,
    metrics: WriteQueueMetrics,
}

impl GroupCommitter {
    pub(crate) fn start(write: DatabaseConnection, metrics: WriteQueueMetrics) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(write, queue, metrics.clone()));
        Self { jobs, metrics }
    }

    /// Runs `f` in its own savepoint of a coming batch — taking turns with the other
    /// lanes' writes — and answers after the batch commits. `f` must send its
    /// [`Opening`] before any other statement (alone, or as the start of its first). An
    /// `Err` from `f` rolls back what `f` wrote, and nothing else.
    pub(crate) async fn write<T, E, F>(
        &self,
        lane: Option<uuid::Uuid>,
        cost: usize,
        f: F,
    ) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction, Opening) -> BoxFuture<'t, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        // The batch runs the job inside its savepoint (see `run`).
        let job: Job = Box::new(move |txn, opening| {
            Box::pin(async move {
                match f(txn, opening).await {
                    Ok(value) => Ran {
                        wrote: true,
                        delivery: Box::new(move |committed| {
                            let _ = answer.send(committed.map(|()| value).map_err(E::from));
                        }),
                    },
                    Err(err) => Ran {
                        wrote: false,
                        delivery: deliver_now(answer, Err(err)),
                    },
                }
            })
        });
        self.metrics.queued();
        if self.jobs.send(Queued { lane, cost, job }).is_err() {
            self.metrics.dequeued();
            return Err(E::from(DbErr::Custom(
                "the database writer has stopped".into(),
            )));
        }
        answered.await.unwrap_or_else(|_| {
            Err(E::from(DbErr::Custom(
                "the write was abandoned: its transaction could not start".into(),
            )))
        })
    }
}

/// A job that failed: its answer does not depend on the commit.
fn deliver_now<T: Send + 'static, E: Send + 'static>(
    answer: oneshot::Sender<Result<T, E>>,
    result: Result<T, E>,
) -> Delivery {
    Box::new(move |_| {
        let _ = answer.send(result);
    })
}

/// Queued writes in one lane per tenant, served round-robin.
#[derive(Default)]
struct Lanes {
    queues: HashMap<Option<uuid::Uuid>, VecDeque<Queued>>,
    order: VecDeque<Option<uuid::Uuid>>,
}

impl Lanes {
    fn push(&mut self, queued: Queued) {
        let lane = queued.lane;
        let queue = self.queues.entry(lane).or_default();
        if queue.is_empty() {
            self.order.push_back(lane);
        }
        queue.push_back(queued);
    }

    fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The next batch: rounds over the lanes, one write per lane per round, taking every
    /// lane's next write that still fits the budget (the first write always goes, so a
    /// write costlier than the budget commits alone), until the batch is full or no
    /// lane's next write fits. Light writes of every tenant thus fill what a heavy write
    /// leaves, and no tenant gets two turns while another waits.
    fn batch(&mut self) -> Vec<Queued> {
        let mut jobs = Vec::new();
        let mut cost = 0;
        // Lanes served in this batch, in order: afterwards they go behind every lane
        // that was not, so a lane passed over for the budget goes first next time.
        let mut served: Vec<Option<uuid::Uuid>> = Vec::new();
        let mut served_set: HashSet<Option<uuid::Uuid>> = HashSet::new();
        loop {
            let mut progressed = false;
            for _ in 0..self.order.len() {
                if jobs.len() >= MAX_BATCH {
                    break;
                }
                let Some(lane) = self.order.pop_front() else {
                    break;
                };
                let Some(queue) = self.queues.get_mut(&lane) else {
                    continue;
                };
                let next_cost = queue.front().map_or(0, |q| q.cost);
                if (jobs.is_empty() || cost + next_cost <= BATCH_BUDGET)
                    && let Some(queued) = queue.pop_front()
                {
                    cost += queued.cost;
                    jobs.push(queued);
                    progressed = true;
                    if served_set.insert(lane) {
                        served.push(lane);
                    }
                }
                if queue.is_empty() {
                    self.queues.remove(&lane);
                } else {
                    self.order.push_back(lane);
                }
            }
            if !progressed || jobs.len() >= MAX_BATCH || self.order.is_empty() {
                break;
            }
        }
        let mut waiting: VecDeque<_> = self
            .order
            .drain(..)
            .filter(|lane| !served_set.contains(lane))
            .collect();
        waiting.extend(
            served
                .into_iter()
                .filter(|lane| self.queues.contains_key(lane)),
        );
        self.order = waiting;
        jobs
    }
}

async fn run(
    write: DatabaseConnection,
    mut queue: mpsc::UnboundedReceiver<Queued>,
    metrics: WriteQueueMetrics,
) {
    let immediate = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    let mut lanes = Lanes::default();
    loop {
        if lanes.is_empty() {
            match queue.recv().await {
                Some(queued) => lanes.push(queued),
                None => return,
            }
        }
        while let Ok(queued) = queue.try_recv() {
            lanes.push(queued);
        }
        let jobs: Vec<Job> = lanes.batch().into_iter().map(|q| q.job).collect();
        for _ in &jobs {
            metrics.dequeued();
        }
        metrics.batch(jobs.len());
        let txn = match write.begin_with_options(immediate).await {
            Ok(txn) => txn,
            Err(err) => {
                // Dropping the jobs drops their answer channels: each request gets an
                // error rather than waiting forever.
                tracing::error!(error = %err, jobs = jobs.len(), "cannot start a write transaction");
                continue;
            }
        };
        let started = std::time::Instant::now();
        let batch_size = jobs.len();
        let mut deliveries = Vec::with_capacity(jobs.len());
        let mut abandoned = None;
        for (i, job) in jobs.into_iter().enumerate() {
            // The job opens its savepoint itself, with its first statement. A job whose
            // rollback fails — its savepoint never opened, or the transaction is gone —
            // leaves the transaction in no known state: the rest of the batch is dropped
            // (each of its requests gets an error) and nothing of it is committed.
            let opening = Opening::of_job(i);
            let ran = job(&txn, opening.clone()).await;
            deliveries.push(ran.delivery);
            // A job that ended before sending its opening wrote nothing; its savepoint is
            // opened now all the same, for the next job's `RELEASE` to name.
            let settled = if opening.was_sent() {
                Ok(())
            } else {
                opening.run(&txn).await
            };
            let settled = match settled {
                Ok(()) if !ran.wrote => opening.roll_back(&txn).await,
                other => other,
            };
            if let Err(err) = settled {
                abandoned = Some(err);
                break;
            }
        }
        let ran = started.elapsed();
        let committed = match abandoned {
            None => txn.commit().await,
            Some(err) => {
                tracing::error!(error = %err, "a savepoint failed; the batch is rolled back");
                if let Err(rollback) = txn.rollback().await {
                    tracing::error!(error = %rollback, "rolling back a batch failed");
                }
                Err(err)
            }
        };
        let total = started.elapsed();
        if total > SLOW_BATCH {
            tracing::debug!(
                writes = batch_size,
                run_ms = ran.as_millis() as u64,
                commit_ms = (total - ran).as_millis() as u64,
                "slow group commit"
            );
        }
        if let Err(err) = &committed {
            tracing::error!(error = %err, jobs = deliveries.len(), "committing a batch of writes failed");
        }
        for delivery in deliveries {
            delivery(match &committed {
                Ok(()) => Ok(()),
                Err(err) => Err(DbErr::Custom(format!("commit failed: {err}"))),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(lane: u128, cost: usize) -> Queued {
        let job: Job = Box::new(|_txn, _opening| {
            Box::pin(async {
                Ran {
                    wrote: true,
                    delivery: Box::new(|_| {}),
                }
            })
        });
        Queued {
            lane: Some(uuid::Uuid::from_u128(lane)),
            cost,
            job,
        }
    }

    fn shape(batch: &[Queued]) -> Vec<(u128, usize)> {
        batch
            .iter()
            .map(|q| (q.lane.map_or(0, |l| l.as_u128()), q.cost))
            .collect()
    }

    #[test]
    fn batches_take_turns_and_light_writes_fill_what_a_heavy_one_leaves() {
        let mut lanes = Lanes::default();
        for _ in 0..3 {
            lanes.push(queued(1, 3_300));
        }
        for _ in 0..5 {
            lanes.push(queued(2, 50));
        }
        // One heavy write of tenant 1, then every light write of tenant 2 that fits.
        assert_eq!(
            shape(&lanes.batch()),
            vec![(1, 3_300), (2, 50), (2, 50), (2, 50), (2, 50), (2, 50)]
        );
        // A write over the budget commits alone; the lanes keep their order.
        lanes.push(queued(2, 9_000));
        assert_eq!(shape(&lanes.batch()), vec![(1, 3_300)]);
        assert_eq!(shape(&lanes.batch()), vec![(2, 9_000)]);
        assert_eq!(shape(&lanes.batch()), vec![(1, 3_300)]);
        assert!(lanes.is_empty());
    }

    #[test]
    fn a_tenant_with_many_writes_gets_one_turn_per_round() {
        let mut lanes = Lanes::default();
        for _ in 0..200 {
            lanes.push(queued(1, 10));
        }
        lanes.push(queued(2, 10));
        let batch = shape(&lanes.batch());
        assert_eq!(batch.len(), MAX_BATCH);
        // Tenant 2's one write is in the first batch, second in line.
        assert_eq!(batch[1], (2, 10));
    }
}
