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
use roster_entity::{event, tenant, webhook_endpoint};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::client::{Request, WebhookClient};
use super::egress::EgressPolicy;
use super::{DeliverySettings, event_json};
use crate::Database;
use crate::metrics::{AttemptOutcome, CoreMetrics};
use crate::outbox::sequencer;
use crate::secrets::Keyring;
use crate::time::Timestamp;

/// Finished deliveries removed per statement when pruning.
const PRUNE_BATCH: i64 = 5_000;

/// A delivery this node claimed.
#[derive(Debug)]
struct Claimed {
    id: i64,
    endpoint_id: Uuid,
    event_pk: i64,
    attempts: i32,
    created_at: i64,
}

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
        let statement = self.db.raw(
            "DELETE FROM webhook_deliveries WHERE id IN (\
                   SELECT id FROM webhook_deliveries \
                   WHERE status <> 'pending' AND finished_at < $1 LIMIT $2)",
            [Value::from(cutoff), Value::from(PRUNE_BATCH)],
        );
        let removed = self
            .db
            .write(move |txn| Box::pin(async move { txn.execute_raw(statement).await }))
            .await?
            .rows_affected();
        if removed > 0 {
            tracing::info!(removed, "pruned finished webhook deliveries past retention");
        }
        Ok(())
    }

    async fn claim(&self) -> Result<Vec<Claimed>, DbErr> {
        let now = self.db.clock().now();
        let lease_until = now.plus(self.settings.lease());
        let lock = self.db.skip_locked();
        let statement = self.db.raw(
            &format!(
                "UPDATE webhook_deliveries SET lease_until = $1, lease_owner = $2 \
                     WHERE id IN (\
                       SELECT d.id FROM webhook_deliveries d \
                       WHERE d.status = 'pending' AND d.next_attempt_at <= $3 \
                         AND (d.lease_until IS NULL OR d.lease_until < $3) \
                         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                           WHERE p.endpoint_id = d.endpoint_id \
                             AND p.resource_id = d.resource_id \
                             AND p.status = 'pending' AND p.id < d.id) \
                       ORDER BY d.id LIMIT $4 {lock}) \
                     RETURNING id, endpoint_id, event_pk, attempts, created_at"
            ),
            [
                Value::from(lease_until.as_micros()),
                Value::from(self.node.to_string()),
                Value::from(now.as_micros()),
                Value::from(i64::from(self.settings.batch)),
            ],
        );
        let rows = self
            .db
            .write(move |txn| Box::pin(async move { txn.query_all_raw(statement).await }))
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            claimed.push(Claimed {
                id: row.try_get("", "id")?,
                endpoint_id: row.try_get("", "endpoint_id")?,
                event_pk: row.try_get("", "event_pk")?,
                attempts: row.try_get("", "attempts")?,
                created_at: row.try_get("", "created_at")?,
            });
        }
        claimed.sort_by_key(|claimed| claimed.id);
        Ok(claimed)
    }

    async fn deliver(&self, claimed: Vec<Claimed>) -> Result<Vec<Attempt>, DbErr> {
        let reader = self.db.reader();
        let event_ids: Vec<i64> = claimed.iter().map(|c| c.event_pk).collect();
        let mut endpoint_ids: Vec<Uuid> = claimed.iter().map(|c| c.endpoint_id).collect();
        endpoint_ids.sort_unstable();
        endpoint_ids.dedup();
        let events: HashMap<i64, event::Model> = event::Entity::find()
            .filter(event::Column::Id.is_in(event_ids))
            .all(reader)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let endpoints: HashMap<Uuid, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
            .all(reader)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let mut tenant_ids: Vec<Uuid> = endpoints.values().map(|e| e.tenant_id).collect();
        tenant_ids.sort_unstable();
        tenant_ids.dedup();
        let slugs: HashMap<Uuid, String> = tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(tenant_ids))
            .all(reader)
            .await?
            .into_iter()
            .map(|row| (row.id, row.slug))
            .collect();

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
        let mut statements = Vec::new();
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
            statements.push(self.db.raw(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, \
                       status = $1, next_attempt_at = $2, last_attempt_at = $3, \
                       last_status_code = $4, last_error = $5, finished_at = $6, \
                       lease_until = NULL, lease_owner = NULL \
                     WHERE id = $7 AND status = 'pending'",
                [
                    Value::from(if gave_up { "failed" } else { "pending" }),
                    Value::from(next.as_micros()),
                    Value::from(now.as_micros()),
                    Value::from(attempt.status_code.map(i32::from)),
                    Value::from(attempt.error.clone()),
                    Value::from(gave_up.then_some(now.as_micros())),
                    Value::from(attempt.delivery.id),
                ],
            ));
        }
        for (status_code, ids) in delivered {
            let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
            let mut values = vec![
                Value::from(now.as_micros()),
                Value::from(status_code.map(i32::from)),
            ];
            values.extend(ids.into_iter().map(Value::from));
            statements.push(self.db.raw(
                &format!(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, \
                           status = 'delivered', last_attempt_at = $1, finished_at = $1, \
                           last_status_code = $2, last_error = NULL, \
                           lease_until = NULL, lease_owner = NULL \
                         WHERE id IN ({}) AND status = 'pending'",
                    placeholders.join(", ")
                ),
                values,
            ));
        }
        self.db
            .write(move |txn| {
                Box::pin(async move {
                    for statement in statements {
                        txn.execute_raw(statement).await?;
                    }
                    Ok::<_, DbErr>(())
                })
            })
            .await
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
