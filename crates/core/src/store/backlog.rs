//! The outbox and the webhook backlog as the database holds them now (every node's),
//! for `/metrics`.

use sea_orm::{ConnectionTrait, DbErr};

use super::Database;
use crate::metrics::Backlog;

/// Reads the [`Backlog`]: four indexed aggregates (`events.seq IS NULL` on the unique
/// index of `seq`, the deliveries by `status` on their due index).
pub async fn backlog(db: &Database) -> Result<Backlog, DbErr> {
    let reader = db.reader();
    let now = db.clock().now().as_micros();
    let age = |oldest: Option<i64>| {
        #[allow(clippy::cast_precision_loss)] // microseconds of an age fit well in an f64
        oldest.map_or(0.0, |at| (now.saturating_sub(at)).max(0) as f64 / 1e6)
    };
    let outbox = reader
        .query_one_raw(db.raw(
            "SELECT COUNT(*) AS n, MIN(occurred_at) AS oldest FROM events WHERE seq IS NULL",
            [],
        ))
        .await?;
    let (unsequenced, oldest_event) = match outbox {
        Some(row) => (
            row.try_get::<i64>("", "n")?,
            row.try_get::<Option<i64>>("", "oldest")?,
        ),
        None => (0, None),
    };
    let pending = reader
        .query_one_raw(db.raw(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_deliveries \
             WHERE status = 'pending'",
            [],
        ))
        .await?;
    let (pending, oldest_pending) = match pending {
        Some(row) => (
            row.try_get::<i64>("", "n")?,
            row.try_get::<Option<i64>>("", "oldest")?,
        ),
        None => (0, None),
    };
    let failed = reader
        .query_one_raw(db.raw(
            "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'failed'",
            [],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(Backlog {
        unsequenced_events: count(unsequenced),
        outbox_lag_seconds: age(oldest_event),
        pending_deliveries: count(pending),
        oldest_pending_seconds: age(oldest_pending),
        failed_deliveries: count(failed),
    })
}
