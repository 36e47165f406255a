//! The outbox as stored: the `events` rows a change writes with its own statements, the
//! events a delivery shows or POSTs, and the sequencer's numbering of committed events and
//! fan-out to webhook deliveries.

use std::collections::HashMap;

use roster_entity::event;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, Insert, QueryFilter,
    Value,
};
use uuid::Uuid;

use super::{TenantScope, raw_in};
use crate::time::Timestamp;

/// One event row, to insert with the change it tells of (one at a time, or many in one
/// statement).
pub(crate) type EventRow = event::ActiveModel;

/// The insert of one event, to push onto the write's own [`super::writes::Writes`].
pub(crate) type EventInsert = Insert<event::ActiveModel>;

/// An event as stored, for its delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredEvent {
    pub id: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: i64,
    /// The event's `data` as JSON.
    pub payload: String,
}

impl From<event::Model> for StoredEvent {
    fn from(row: event::Model) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            event_type: row.event_type,
            occurred_at: row.occurred_at,
            payload: row.payload,
        }
    }
}

/// A new event of the scope's tenant (a fresh `event_id`, no `seq` yet).
pub(crate) fn event_row(
    scope: TenantScope,
    at: Timestamp,
    event_type: &str,
    resource_type: &str,
    resource_id: Uuid,
    payload: String,
) -> EventRow {
    event::ActiveModel {
        event_id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_uuid()),
        event_type: Set(event_type.to_owned()),
        resource_type: Set(resource_type.to_owned()),
        resource_id: Set(resource_id),
        occurred_at: Set(at.as_micros()),
        payload: Set(payload),
        ..Default::default()
    }
}

/// The insert of `row`.
pub(crate) fn insert_event(row: EventRow) -> EventInsert {
    event::Entity::insert(row)
}

/// The scope's event whose row id is `id`.
pub(crate) async fn event(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: i64,
) -> Result<Option<StoredEvent>, DbErr> {
    Ok(event::Entity::find_by_id(id)
        .filter(event::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
        .map(StoredEvent::from))
}

/// The events whose row ids are `ids`, by id: of the scope's tenant (`Some`), or of
/// every tenant (`None`, the delivery worker's).
pub(crate) async fn events_by_id(
    conn: &impl ConnectionTrait,
    scope: Option<TenantScope>,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, StoredEvent>, DbErr> {
    let mut query = event::Entity::find();
    if let Some(scope) = scope {
        query = query.filter(event::Column::TenantId.eq(scope.tenant_uuid()));
    }
    Ok(query
        .filter(event::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, StoredEvent::from(row)))
        .collect())
}

/// The largest `seq` given so far (0 for none).
pub(crate) async fn max_seq(txn: &DatabaseTransaction) -> Result<i64, DbErr> {
    Ok(txn
        .query_one_raw(raw_in(
            txn,
            "SELECT COALESCE(MAX(seq), 0) AS max FROM events",
            [],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "max"))
        .transpose()?
        .unwrap_or(0))
}

/// Numbers up to `limit` events without a `seq`, in id order, from `after + 1`; how many.
pub(crate) async fn number_events(
    txn: &DatabaseTransaction,
    after: i64,
    limit: i64,
) -> Result<u64, DbErr> {
    Ok(txn
        .execute_raw(raw_in(
            txn,
            "UPDATE events SET seq = ranked.rn + $1 \
                 FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn \
                       FROM events WHERE seq IS NULL ORDER BY id LIMIT $2) AS ranked \
                 WHERE events.id = ranked.id",
            [Value::from(after), Value::from(limit)],
        ))
        .await?
        .rows_affected())
}

/// Creates, due at `now`, one pending delivery of each event numbered in `(after,
/// through]` to each enabled endpoint of its tenant that wants its type; how many.
pub(crate) async fn fan_out(
    txn: &DatabaseTransaction,
    after: i64,
    through: i64,
    now: i64,
) -> Result<u64, DbErr> {
    Ok(txn
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
                Value::from(after),
                Value::from(through),
                Value::from(now),
                Value::from(true),
            ],
        ))
        .await?
        .rows_affected())
}
