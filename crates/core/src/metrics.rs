//! What the services count for `/metrics`, beside the HTTP metrics of `roster-web`.
//!
//! The metric objects live here, unregistered: the web layer registers them with its own
//! in the registry it exposes ([`CoreMetrics::collectors`]). Counters are moved where
//! the event happens (a webhook attempt, a token check, a write queued); gauges that
//! describe the database (the outbox, the delivery backlog, the pools) are read when
//! scraped ([`backlog`], [`pool_stats`]).
//!
//! Every label takes its values from a closed set — outcomes, token kinds — and a
//! `tenant` label exists only when the operator opts in (`ROSTER_METRICS_TENANT_LABELS`),
//! since tenants are created at run time. No label ever carries a user, an email, a URL
//! or an id.

use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts};

use crate::Database;
use crate::tokens::TokenKind;

/// What became of one webhook attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed and will be tried again.
    Retry,
    /// It failed and will not be tried again (until an admin redelivers it).
    Failed,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }
}

/// How a bearer token was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// The cached digest matched and the cached rows were fresh: no query, no argon2.
    Hit,
    /// The cached digest matched; the token and tenant rows were read again.
    Revalidated,
    /// Not cached (or another secret): the rows were read and argon2 ran.
    Miss,
}

impl TokenCheck {
    fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Revalidated => "revalidated",
            Self::Miss => "miss",
        }
    }
}

/// The counters and histograms of the services. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CoreMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tenant_labels: bool,
    webhook_attempts: Option<IntCounterVec>,
    webhook_attempt_seconds: Option<HistogramVec>,
    token_checks: Option<IntCounterVec>,
}

impl CoreMetrics {
    /// `tenant_labels`: whether per-tenant series are wanted (the operator's opt-in).
    pub fn new(tenant_labels: bool) -> Self {
        let outcome_labels: &[&str] = if tenant_labels {
            &["outcome", "tenant"]
        } else {
            &["outcome"]
        };
        let webhook_attempts = built(IntCounterVec::new(
            Opts::new(
                "roster_webhook_attempts_total",
                "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), failed (gave up)",
            ),
            outcome_labels,
        ));
        let webhook_attempt_seconds = built(HistogramVec::new(
            HistogramOpts::new(
                "roster_webhook_attempt_duration_seconds",
                "Time of one webhook attempt, from sending to the answer or the error",
            )
            .buckets(vec![
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["outcome"],
        ));
        let token_checks = built(IntCounterVec::new(
            Opts::new(
                "roster_token_checks_total",
                "Bearer tokens checked, by kind (scim, api) and how: hit (cached), revalidated (rows re-read), miss (argon2)",
            ),
            &["kind", "result"],
        ));
        Self {
            inner: Arc::new(Inner {
                tenant_labels,
                webhook_attempts,
                webhook_attempt_seconds,
                token_checks,
            }),
        }
    }

    /// Whether series carry a `tenant` label.
    pub fn tenant_labels(&self) -> bool {
        self.inner.tenant_labels
    }

    /// Every metric of the services, to register in the exposed registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        let inner = &self.inner;
        let mut all: Vec<Box<dyn Collector>> = Vec::new();
        if let Some(metric) = &inner.webhook_attempts {
            all.push(Box::new(metric.clone()));
        }
        if let Some(metric) = &inner.webhook_attempt_seconds {
            all.push(Box::new(metric.clone()));
        }
        if let Some(metric) = &inner.token_checks {
            all.push(Box::new(metric.clone()));
        }
        all
    }

    pub(crate) fn webhook_attempt(&self, tenant: &str, outcome: AttemptOutcome, seconds: f64) {
        if let Some(attempts) = &self.inner.webhook_attempts {
            let counter = if self.inner.tenant_labels {
                attempts.get_metric_with_label_values(&[outcome.as_str(), tenant])
            } else {
                attempts.get_metric_with_label_values(&[outcome.as_str()])
            };
            if let Ok(counter) = counter {
                counter.inc();
            }
        }
        if let Some(Ok(histogram)) = self
            .inner
            .webhook_attempt_seconds
            .as_ref()
            .map(|h| h.get_metric_with_label_values(&[outcome.as_str()]))
        {
            histogram.observe(seconds);
        }
    }

    pub(crate) fn token_check(&self, kind: TokenKind, check: TokenCheck) {
        if let Some(Ok(counter)) = self
            .inner
            .token_checks
            .as_ref()
            .map(|c| c.get_metric_with_label_values(&[kind.as_str(), check.as_str()]))
        {
            counter.inc();
        }
    }
}

impl Default for CoreMetrics {
    fn default() -> Self {
        Self::new(false)
    }
}

/// The writes waiting for the database and, on SQLite, how many run in one group commit.
/// Cheap to clone; made by [`Database::connect`].
#[derive(Clone, Debug)]
pub struct WriteQueueMetrics {
    depth: Option<IntGauge>,
    batch_size: Option<Histogram>,
}

impl WriteQueueMetrics {
    pub(crate) fn new() -> Self {
        Self {
            depth: built(IntGauge::new(
                "roster_db_write_queue_depth",
                "Writes waiting: on SQLite queued for the next group commit, on PostgreSQL in flight",
            )),
            batch_size: built(Histogram::with_opts(
                HistogramOpts::new(
                    "roster_db_group_commit_batch_size",
                    "Writes committed together in one SQLite transaction (group commit)",
                )
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]),
            )),
        }
    }

    /// A write joined the queue.
    pub(crate) fn queued(&self) {
        if let Some(depth) = &self.depth {
            depth.inc();
        }
    }

    /// A write left the queue (it runs now, or it was abandoned).
    pub(crate) fn dequeued(&self) {
        if let Some(depth) = &self.depth {
            depth.dec();
        }
    }

    /// A group commit of `size` writes started.
    pub(crate) fn batch(&self, size: usize) {
        if let Some(histogram) = &self.batch_size {
            #[allow(clippy::cast_precision_loss)] // at most 128
            histogram.observe(size as f64);
        }
    }

    /// Counts a write as queued for as long as the guard lives (PostgreSQL).
    pub(crate) fn in_flight(&self) -> InFlight<'_> {
        self.queued();
        InFlight(self)
    }

    /// The writes waiting right now.
    pub fn depth(&self) -> i64 {
        self.depth.as_ref().map_or(0, IntGauge::get)
    }

    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        let mut all: Vec<Box<dyn Collector>> = Vec::new();
        if let Some(depth) = &self.depth {
            all.push(Box::new(depth.clone()));
        }
        if let Some(histogram) = &self.batch_size {
            all.push(Box::new(histogram.clone()));
        }
        all
    }
}

/// See [`WriteQueueMetrics::in_flight`].
pub(crate) struct InFlight<'a>(&'a WriteQueueMetrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dequeued();
    }
}

/// One connection pool's use right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// `read`, `write` (SQLite) or `main` (PostgreSQL).
    pub pool: &'static str,
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it may open.
    pub max: u32,
}

/// The pools of `db`: on SQLite the writer and the readers, on PostgreSQL the one pool.
pub fn pool_stats(db: &Database) -> Vec<PoolStats> {
    db.pool_stats()
}

/// The outbox and the webhook backlog as the database holds them now (every node's).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Backlog {
    /// Committed events not yet numbered by the sequencer.
    pub unsequenced_events: u64,
    /// Age of the oldest of them, in seconds (0 when there is none): the sequencer's lag.
    pub outbox_lag_seconds: f64,
    /// Deliveries waiting to be sent or retried.
    pub pending_deliveries: u64,
    /// Age of the oldest pending delivery, in seconds (0 when there is none).
    pub oldest_pending_seconds: f64,
    /// Deliveries that gave up and are kept in the history (until redelivered or pruned).
    pub failed_deliveries: u64,
}

pub use crate::store::backlog::backlog;

/// A metric, or `None` (logged) when its definition is refused. The definitions are
/// constants, so this does not happen; a node without a metric still serves.
fn built<M>(metric: Result<M, prometheus::Error>) -> Option<M> {
    metric
        .map_err(|err| tracing::error!(error = %err, "a metric could not be defined"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_carry_a_tenant_only_when_asked() {
        let plain = CoreMetrics::new(false);
        plain.webhook_attempt("acme", AttemptOutcome::Delivered, 0.02);
        let families: Vec<_> = plain
            .collectors()
            .iter()
            .flat_map(|c| c.collect())
            .collect();
        let attempts = families
            .iter()
            .find(|f| f.name() == "roster_webhook_attempts_total")
            .unwrap();
        let labels: Vec<_> = attempts.get_metric()[0]
            .get_label()
            .iter()
            .map(|l| l.name().to_owned())
            .collect();
        assert_eq!(labels, ["outcome"]);

        let per_tenant = CoreMetrics::new(true);
        per_tenant.webhook_attempt("acme", AttemptOutcome::Failed, 1.0);
        let families: Vec<_> = per_tenant
            .collectors()
            .iter()
            .flat_map(|c| c.collect())
            .collect();
        let attempts = families
            .iter()
            .find(|f| f.name() == "roster_webhook_attempts_total")
            .unwrap();
        let labels: Vec<_> = attempts.get_metric()[0]
            .get_label()
            .iter()
            .map(|l| (l.name().to_owned(), l.value().to_owned()))
            .collect();
        assert!(labels.contains(&("tenant".to_owned(), "acme".to_owned())));
    }

    #[test]
    fn the_write_queue_counts_in_flight_writes() {
        let queue = WriteQueueMetrics::new();
        {
            let _one = queue.in_flight();
            let _two = queue.in_flight();
            assert_eq!(queue.depth(), 2);
        }
        assert_eq!(queue.depth(), 0);
    }
}
