//! The delivery worker's side of the deliveries, node-wide: pruning the history, claiming
//! due deliveries under a lease (`SKIP LOCKED` on PostgreSQL), reading what they need and
//! recording the outcomes.

use std::collections::HashMap;

use roster_entity::webhook_endpoint;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Statement, Value};
use uuid::Uuid;

use super::EndpointRow;
use crate::store::Database;

/// A delivery a worker claimed.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub id: i64,
    pub endpoint_id: Uuid,
    pub event_pk: i64,
    pub attempts: i32,
    pub created_at: i64,
}

/// A failed attempt to record: retried at `next_attempt_at`, or given up.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub id: i64,
    pub gave_up: bool,
    pub next_attempt_at: i64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// Removes, in a write of its own, at most `batch` delivered or failed deliveries that
/// finished before `cutoff`; how many.
pub(crate) async fn prune(db: &Database, cutoff: i64, batch: i64) -> Result<u64, DbErr> {
    let statement = db.raw(
        "DELETE FROM webhook_deliveries WHERE id IN (\
               SELECT id FROM webhook_deliveries \
               WHERE status <> 'pending' AND finished_at < $1 LIMIT $2)",
        [Value::from(cutoff), Value::from(batch)],
    );
    Ok(db
        .write(move |txn| Box::pin(async move { txn.execute_raw(statement).await }))
        .await?
        .rows_affected())
}

/// Leases to `owner` until `lease_until`, in a write of its own, up to `limit` deliveries
/// due at `now` whose endpoint has no earlier pending delivery of the same resource
/// (passing over rows another node holds locked); the deliveries claimed, in no order.
pub(crate) async fn claim(
    db: &Database,
    owner: String,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Claimed>, DbErr> {
    let lock = db.skip_locked();
    let statement = db.raw(
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
            Value::from(lease_until),
            Value::from(owner),
            Value::from(now),
            Value::from(limit),
        ],
    );
    let rows = db
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
    Ok(claimed)
}

/// The endpoints `ids`, whichever tenants' they are.
pub(crate) async fn endpoints_by_id(
    conn: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, EndpointRow>, DbErr> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, EndpointRow::from(row)))
        .collect())
}

/// Records, in one write, the attempts made at `now`: each failure (retried or given
/// up), then the deliveries that succeeded, by the status code the endpoint answered.
pub(crate) async fn record(
    db: &Database,
    now: i64,
    failures: Vec<Failure>,
    delivered: impl IntoIterator<Item = (Option<i32>, Vec<i64>)>,
) -> Result<(), DbErr> {
    let mut statements: Vec<Statement> = Vec::new();
    for failure in failures {
        statements.push(db.raw(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, \
                   status = $1, next_attempt_at = $2, last_attempt_at = $3, \
                   last_status_code = $4, last_error = $5, finished_at = $6, \
                   lease_until = NULL, lease_owner = NULL \
                 WHERE id = $7 AND status = 'pending'",
            [
                Value::from(if failure.gave_up { "failed" } else { "pending" }),
                Value::from(failure.next_attempt_at),
                Value::from(now),
                Value::from(failure.status_code),
                Value::from(failure.error),
                Value::from(failure.gave_up.then_some(now)),
                Value::from(failure.id),
            ],
        ));
    }
    for (status_code, ids) in delivered {
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
        let mut values = vec![Value::from(now), Value::from(status_code)];
        values.extend(ids.into_iter().map(Value::from));
        statements.push(db.raw(
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
    db.write(move |txn| {
        Box::pin(async move {
            for statement in statements {
                txn.execute_raw(statement).await?;
            }
            Ok::<_, DbErr>(())
        })
    })
    .await
}
