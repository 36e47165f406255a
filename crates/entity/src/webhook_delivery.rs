//! One event to one webhook endpoint: its state, attempts and lease.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: Uuid,
    pub endpoint_id: Uuid,
    /// `events.id` of the event delivered.
    pub event_pk: i64,
    /// The user or group the event is about: deliveries of one resource go in order.
    pub resource_id: Uuid,
    /// `pending`, `delivered` or `failed` (gave up; redeliver puts it back).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    /// While a worker holds the delivery, until when; an expired lease is free again.
    pub lease_until: Option<i64>,
    pub lease_owner: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
