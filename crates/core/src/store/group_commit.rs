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
//! in the same round trip that opens the next one (`RELEASE …; SAVEPOINT …`), and the last
//! by `COMMIT`, so a write that is one [`super::writes::Writes`] costs the writer two round
//! trips rather than three. (Savepoints are released rather than nested so that SQLite's
//! statement journal holds one request's pages at a time, as with a savepoint per request.)
//! Should a savepoint fail to open or a rollback to it fail (the transaction is then
//! gone), the batch is abandoned: the writes still queued in it never run and every
//! request of it gets an error.
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

pub(crate) type Job = Box<dyn for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Ran> + Send>;

/// The savepoint each job runs in: opened for the first job of a batch, released and
/// opened again for each next one in one round trip, rolled back to when a job fails.
const SAVEPOINT: &str = "SAVEPOINT roster_write";
const NEXT_SAVEPOINT: &str = "RELEASE SAVEPOINT roster_write; SAVEPOINT roster_write";
const ROLLBACK_TO_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT roster_write";

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
    /// lanes' writes — and answers after the batch commits. An `Err` from `f` rolls back
    /// what `f` wrote, and nothing else.
    pub(crate) async fn write<T, E, F>(
        &self,
        lane: Option<uuid::Uuid>,
        cost: usize,
        f: F,
    ) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        // The batch runs the job inside its savepoint (see `run`).
        let job: Job = Box::new(move |txn| {
            Box::pin(async move {
                match f(txn).await {
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
            // A job whose savepoint cannot open, or whose rollback fails, leaves the
            // transaction in no known state: the rest of the batch is dropped (each of
            // its requests gets an error) and nothing of it is committed.
            let open = if i == 0 { SAVEPOINT } else { NEXT_SAVEPOINT };
            if let Err(err) = txn.execute_unprepared(open).await {
                abandoned = Some(err);
                break;
            }
            let ran = job(&txn).await;
            deliveries.push(ran.delivery);
            if !ran.wrote
                && let Err(err) = txn.execute_unprepared(ROLLBACK_TO_SAVEPOINT).await
            {
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
        let job: Job = Box::new(|_txn| {
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
