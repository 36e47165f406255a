//! The sequencer: gives committed events their place in commit order, and fans each one
//! out to the tenant's webhook endpoints that want it.
//!
//! Events are inserted by many concurrent transactions; their autoincrement `id` is the
//! order they were *inserted* in, not the order they *committed* in, so a reader that
//! pages by `id` can skip an event that commits late. The sequencer runs after the fact:
//! it takes the events without a `seq` (all of them committed — it cannot see the others),
//! numbers them after the largest `seq` so far, and in the same transaction creates their
//! webhook deliveries. One sequencer runs at a time across all nodes (a PostgreSQL
//! advisory lock; SQLite has one writer), so `seq` only ever grows in commit order and a
//! reader of `seq > cursor` never misses an event.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Value};

use crate::Database;
use crate::store::{raw_in, try_advisory_xact_lock};

/// The advisory lock key of the sequencer ("roster" + 1).
const SEQUENCER_LOCK: i64 = 0x726f_7374_6572_0001;

/// Events numbered per transaction, at most.
pub(crate) const SEQUENCE_BATCH: i64 = 2_000;

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sequenced {
    pub events: u64,
    pub deliveries: u64,
}

/// Numbers the committed events that have no `seq` yet and creates their deliveries.
/// Returns zero when another node holds the sequencer.
pub(crate) async fn step(db: &Database) -> Result<Sequenced, DbErr> {
    let now = db.clock().now().as_micros();
    db.write(move |txn| Box::pin(async move { step_in(txn, now).await }))
        .await
}

async fn step_in(txn: &DatabaseTransaction, now: i64) -> Result<Sequenced, DbErr> {
    if !try_advisory_xact_lock(txn, SEQUENCER_LOCK).await? {
        return Ok(Sequenced::default());
    }
    let max: i64 = txn
        .query_one_raw(raw_in(
            txn,
            "SELECT COALESCE(MAX(seq), 0) AS max FROM events",
            [],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "max"))
        .transpose()?
        .unwrap_or(0);
    let numbered = txn
        .execute_raw(raw_in(
            txn,
            "UPDATE events SET seq = ranked.rn + $1 \
                 FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn \
                       FROM events WHERE seq IS NULL ORDER BY id LIMIT $2) AS ranked \
                 WHERE events.id = ranked.id",
            [Value::from(max), Value::from(SEQUENCE_BATCH)],
        ))
        .await?
        .rows_affected();
    if numbered == 0 {
        return Ok(Sequenced::default());
    }
    let high = max.saturating_add(i64::try_from(numbered).unwrap_or(i64::MAX));
    let deliveries = txn
        .execute_raw(raw_in(
            txn,
            "INSERT INTO webhook_deliveries \
                   (tenant_id, endpoint_id, event_pk, resource_id, status, attempts, \
                    next_attempt_at, created_at) \
                 SELECT e.tenant_id, w.id, e.id, e.resource_id, 'pending', 0, $3, $3 \
                 FROM events e JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id \
                 WHERE e.seq > $1 AND e.seq <= $2 AND w.enabled = $4 \
                   AND (w.event_types = '*' OR w.event_types LIKE '%,' || e.event_type || ',%') \
                 ORDER BY e.seq, w.id",
            [
                Value::from(max),
                Value::from(high),
                Value::from(now),
                Value::from(true),
            ],
        ))
        .await?
        .rows_affected();
    Ok(Sequenced {
        events: numbered,
        deliveries,
    })
}
