//! The delivery worker, one per node.
//!
//! Each round: run the sequencer, claim due deliveries under a lease, POST them (at most
//! `concurrency` at once), record the outcomes. A claim only takes a delivery whose
//! endpoint has no earlier pending delivery for the same resource, so one resource's
//! events reach an endpoint in order, one at a time, across all nodes. A node that dies
//! holding a lease loses it when it expires and another node (or the restarted one) takes
//! the delivery again: at least once, never lost.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use sea_orm::DbErr;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::client::{Request, WebhookClient};
use super::egress::EgressPolicy;
use super::{DeliverySettings, event_json};
use crate::Database;
use crate::metrics::{AttemptOutcome, CoreMetrics};
use crate::outbox::sequencer;
use crate::secrets::Keyring;
use crate::store::deliveries::claims::{self, Claimed, Failure};
use crate::store::outbox;
use crate::time::Timestamp;

/// Finished deliveries removed per statement when pruning.
const PRUNE_BATCH: i64 = 5_000;

/// The outcome of one attempt.
#[derive(Debug)]
struct Attempt {
    delivery: Claimed,
    status_code: Option<u16>,
    error: Option<String>,
    /// The tenant's slug and the event's type, for the log and the metrics.
    tenant: String,
    event_type: String,
    /// How long the request took (0 when none was sent).
    seconds: f64,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// Why it failed, for the log: the status, or what went wrong without the receiver's
    /// words (its answer is the tenant's business, and may be anything).
    fn reason(&self) -> String {
        match (self.status_code, &self.error) {
            (Some(status), _) => format!("the endpoint answered {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "delivered".to_owned(),
        }
    }
}

/// Delivers webhooks; clone freely.
#[derive(Clone, Debug)]
pub struct DeliveryWorker {
    db: Database,
    settings: Arc<DeliverySettings>,
    client: WebhookClient,
    /// Opens the endpoints' sealed signing secrets.
    keyring: Keyring,
    /// This node, in `lease_owner`.
    node: Arc<str>,
    /// When this worker last pruned the delivery history.
    last_prune: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    metrics: CoreMetrics,
}

impl DeliveryWorker {
    pub fn new(
        db: Database,
        settings: DeliverySettings,
        policy: Arc<EgressPolicy>,
        keyring: Keyring,
        metrics: CoreMetrics,
    ) -> Self {
        Self {
            metrics,
            db,
            client: WebhookClient::new(&settings, policy, settings.concurrency.max(1)),
            keyring,
            settings: Arc::new(settings),
            node: Arc::from(Uuid::new_v4().to_string()),
            last_prune: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// Runs until `stop` is cancelled; a round in progress finishes first (bounded by
    /// the request timeout).
    pub async fn run(self, stop: CancellationToken) {
        tracing::info!("webhook delivery worker started");
        loop {
            let busy = match self.round().await {
                Ok(busy) => busy,
                Err(err) => {
                    tracing::warn!(error = %err, "webhook delivery round failed; retrying");
                    false
                }
            };
            if stop.is_cancelled() {
                break;
            }
            if !busy {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            }
        }
        tracing::info!("webhook delivery worker stopped");
    }

    /// One round; `true` when there may be more work right away.
    pub async fn round(&self) -> Result<bool, DbErr> {
        let sequenced = sequencer::step(&self.db).await?;
        self.prune_if_due().await?;
        let claimed = self.claim().await?;
        let full = claimed.len() >= self.settings.batch as usize;
        if !claimed.is_empty() {
            let attempts = self.deliver(claimed).await?;
            self.record(attempts).await?;
        }
        Ok(full || sequenced.events >= sequencer::SEQUENCE_BATCH as u64)
    }

    /// Removes delivered and failed deliveries older than the retention, at most every
    /// `prune_interval`, a bounded batch at a time (a large backlog goes over several
    /// rounds). Pending deliveries are never removed.
    async fn prune_if_due(&self) -> Result<(), DbErr> {
        let Some(retention) = self.settings.retention else {
            return Ok(());
        };
        {
            let Ok(mut last) = self.last_prune.lock() else {
                return Ok(());
            };
            if last.is_some_and(|at| at.elapsed() < self.settings.prune_interval) {
                return Ok(());
            }
            *last = Some(std::time::Instant::now());
        }
        let cutoff = self.db.clock().now().minus(retention).as_micros();
        let removed = claims::prune(&self.db, cutoff, PRUNE_BATCH).await?;
        if removed > 0 {
            tracing::info!(removed, "pruned finished webhook deliveries past retention");
        }
        Ok(())
    }

    async fn claim(&self) -> Result<Vec<Claimed>, DbErr> {
        let now = self.db.clock().now();
        let lease_until = now.plus(self.settings.lease());
        let mut claimed = claims::claim(
            &self.db,
            self.node.to_string(),
            now.as_micros(),
            lease_until.as_micros(),
            i64::from(self.settings.batch),
        )
        .await?;
        claimed.sort_by_key(|claimed| claimed.id);
        Ok(claimed)
    }

    async fn deliver(&self, claimed: Vec<Claimed>) -> Result<Vec<Attempt>, DbErr> {
        let reader = self.db.reader();
        let event_ids: Vec<i64> = claimed.iter().map(|c| c.event_pk).collect();
        let mut endpoint_ids: Vec<Uuid> = claimed.iter().map(|c| c.endpoint_id).collect();
        endpoint_ids.sort_unstable();
        endpoint_ids.dedup();
        let events = outbox::events_by_id(reader, None, event_ids).await?;
        let endpoints = claims::endpoints_by_id(reader, endpoint_ids).await?;
        let mut tenant_ids: Vec<Uuid> = endpoints.values().map(|e| e.tenant_id).collect();
        tenant_ids.sort_unstable();
        tenant_ids.dedup();
        let slugs = crate::store::tenants::slugs_of(reader, tenant_ids).await?;

        let now = self.db.clock().now().as_micros();
        let requests = claimed.into_iter().map(|delivery| {
            let event = events.get(&delivery.event_pk);
            let endpoint = endpoints.get(&delivery.endpoint_id);
            let tenant = endpoint
                .and_then(|endpoint| slugs.get(&endpoint.tenant_id))
                .cloned()
                .unwrap_or_default();
            let event_type = event.map(|e| e.event_type.clone()).unwrap_or_default();
            let prepared = match (event, endpoint) {
                (Some(event), Some(endpoint)) => {
                    let slug = tenant.as_str();
                    let body = event_json(
                        event.event_id,
                        &event.event_type,
                        slug,
                        event.occurred_at,
                        &event.payload,
                    );
                    match super::webhooks::signing_secrets(&self.keyring, endpoint, now) {
                        Ok(secrets) => Ok(Request {
                            url: endpoint.url.clone(),
                            body,
                            secrets,
                            event_id: event.event_id,
                            event_type: event.event_type.clone(),
                            attempt: delivery.attempts.saturating_add(1),
                            sent_at: Timestamp::from_micros(now),
                        }),
                        Err(err) => Err(err.to_string()),
                    }
                }
                _ => Err("the event or the endpoint no longer exists".to_owned()),
            };
            let client = self.client.clone();
            async move {
                match prepared {
                    Ok(request) => send(&client, request, delivery, tenant, event_type).await,
                    Err(error) => Attempt {
                        delivery,
                        status_code: None,
                        error: Some(error),
                        tenant,
                        event_type,
                        seconds: 0.0,
                    },
                }
            }
        });
        Ok(futures_util::stream::iter(requests)
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await)
    }

    async fn record(&self, attempts: Vec<Attempt>) -> Result<(), DbErr> {
        let now = self.db.clock().now();
        let mut delivered: HashMap<Option<u16>, Vec<i64>> = HashMap::new();
        let mut failed = Vec::new();
        for attempt in &attempts {
            if attempt.succeeded() {
                self.metrics.webhook_attempt(
                    &attempt.tenant,
                    AttemptOutcome::Delivered,
                    attempt.seconds,
                );
                delivered
                    .entry(attempt.status_code)
                    .or_default()
                    .push(attempt.delivery.id);
                continue;
            }
            let failures = u32::try_from(attempt.delivery.attempts)
                .unwrap_or(0)
                .saturating_add(1);
            let next = now.plus(self.settings.backoff(failures, rand::random::<f64>()));
            let deadline = Timestamp::from_micros(attempt.delivery.created_at)
                .plus(self.settings.give_up_after);
            let gave_up = next > deadline;
            self.metrics.webhook_attempt(
                &attempt.tenant,
                if gave_up {
                    AttemptOutcome::Failed
                } else {
                    AttemptOutcome::Retry
                },
                attempt.seconds,
            );
            if gave_up {
                tracing::warn!(
                    tenant = %attempt.tenant,
                    event_type = %attempt.event_type,
                    delivery = attempt.delivery.id,
                    endpoint = %attempt.delivery.endpoint_id,
                    attempts = failures,
                    status_code = attempt.status_code,
                    reason = %attempt.reason(),
                    "webhook delivery failed for good; it can be redelivered from the admin UI"
                );
            }
            failed.push(Failure {
                id: attempt.delivery.id,
                gave_up,
                next_attempt_at: next.as_micros(),
                status_code: attempt.status_code.map(i32::from),
                error: attempt.error.clone(),
            });
        }
        let delivered = delivered
            .into_iter()
            .map(|(status_code, ids)| (status_code.map(i32::from), ids));
        claims::record(&self.db, now.as_micros(), failed, delivered).await
    }
}

async fn send(
    client: &WebhookClient,
    request: Request,
    delivery: Claimed,
    tenant: String,
    event_type: String,
) -> Attempt {
    let started = std::time::Instant::now();
    let outcome = client.post(request).await;
    Attempt {
        delivery,
        status_code: outcome.status_code,
        error: outcome.error,
        tenant,
        event_type,
        seconds: started.elapsed().as_secs_f64(),
    }
}
