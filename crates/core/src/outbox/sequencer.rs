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

use sea_orm::{DatabaseTransaction, DbErr};

use crate::Database;
use crate::store::outbox::{fan_out, max_seq, number_events};
use crate::store::try_advisory_xact_lock;

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
    let max = max_seq(txn).await?;
    let numbered = number_events(txn, max, SEQUENCE_BATCH).await?;
    if numbered == 0 {
        return Ok(Sequenced::default());
    }
    let high = max.saturating_add(i64::try_from(numbered).unwrap_or(i64::MAX));
    let deliveries = fan_out(txn, max, high, now).await?;
    Ok(Sequenced {
        events: numbered,
        deliveries,
    })
}
