//! The outbox: every committed change, for webhooks and the events API.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Insertion sequence.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The public event id (and webhook idempotency key).
    #[sea_orm(unique)]
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    /// e.g. `user.created`.
    pub event_type: String,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub occurred_at: i64,
    /// The event's `data` as JSON.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Position in commit order, assigned by the sequencer after the event committed;
    /// `None` until then.
    #[sea_orm(unique)]
    pub seq: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
