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
//! The batch forms by itself: while one commits, the next requests queue.
//!
//! A job must use only the transaction it is given: calling `Database::write` or
//! `begin_write` from inside a job would wait for the connection the batch holds.

use futures_util::future::BoxFuture;
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::WriteQueueMetrics;

/// Requests taken into one transaction at most.
const MAX_BATCH: usize = 128;

/// What a job leaves for after the commit: its answer, given the commit's outcome.
pub(crate) type Delivery = Box<dyn FnOnce(Result<(), DbErr>) + Send>;

pub(crate) type Job =
    Box<dyn for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Delivery> + Send>;

#[derive(Clone, Debug)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::UnboundedSender<Job>,
    metrics: WriteQueueMetrics,
}

impl GroupCommitter {
    pub(crate) fn start(write: DatabaseConnection, metrics: WriteQueueMetrics) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(write, queue, metrics.clone()));
        Self { jobs, metrics }
    }

    /// Runs `f` in its own savepoint of the next batch and answers after the batch
    /// commits.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |txn| {
            Box::pin(async move {
                let savepoint = match txn.begin().await {
                    Ok(savepoint) => savepoint,
                    Err(err) => return deliver_now(answer, Err(E::from(err))),
                };
                match f(&savepoint).await {
                    Ok(value) => match savepoint.commit().await {
                        Ok(()) => {
                            let delivery: Delivery = Box::new(move |committed| {
                                let _ = answer.send(committed.map(|()| value).map_err(E::from));
                            });
                            delivery
                        }
                        Err(err) => deliver_now(answer, Err(E::from(err))),
                    },
                    Err(err) => {
                        if let Err(rollback) = savepoint.rollback().await {
                            tracing::error!(error = %rollback, "rolling back a savepoint failed");
                        }
                        deliver_now(answer, Err(err))
                    }
                }
            })
        });
        self.metrics.queued();
        if self.jobs.send(job).is_err() {
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

async fn run(
    write: DatabaseConnection,
    mut queue: mpsc::UnboundedReceiver<Job>,
    metrics: WriteQueueMetrics,
) {
    let immediate = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
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
        let mut deliveries = Vec::with_capacity(jobs.len());
        for job in jobs {
            deliveries.push(job(&txn).await);
        }
        let committed = txn.commit().await;
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
