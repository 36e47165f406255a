//! Webhook endpoints and their deliveries as stored: what the admin UI and the command
//! line read and change through a tenant's scope. The delivery worker's claims and
//! outcomes are in [`claims`], the node-wide sealing of signing secrets in [`secrets`].

pub(crate) mod claims;
pub(crate) mod secrets;

use std::collections::HashMap;

use roster_entity::{webhook_delivery, webhook_endpoint};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::TenantScope;

/// An endpoint as stored, its sealed secrets included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EndpointRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub url: String,
    pub description: String,
    /// `*` for every type, else the wanted types as `,user.created,group.updated,`.
    pub event_types: String,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<webhook_endpoint::Model> for EndpointRow {
    fn from(row: webhook_endpoint::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            url: row.url,
            description: row.description,
            event_types: row.event_types,
            enabled: row.enabled,
            secret: row.secret,
            previous_secret: row.previous_secret,
            previous_secret_expires_at: row.previous_secret_expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new endpoint (no previous secret; created and updated at `created_at`).
#[derive(Clone, Debug)]
pub(crate) struct NewEndpoint {
    pub id: Uuid,
    pub event_types: String,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// The sealed signing secret.
    pub secret: String,
    pub created_at: i64,
}

/// The columns an endpoint update writes; `None` leaves one as it is.
#[derive(Clone, Debug)]
pub(crate) struct EndpointChanges {
    pub event_types: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub secret: Option<String>,
    pub previous_secret: Option<Option<String>>,
    pub previous_secret_expires_at: Option<Option<i64>>,
    pub updated_at: i64,
}

impl EndpointChanges {
    /// Changes nothing but `updated_at`.
    pub(crate) fn at(updated_at: i64) -> Self {
        Self {
            event_types: None,
            url: None,
            description: None,
            enabled: None,
            secret: None,
            previous_secret: None,
            previous_secret_expires_at: None,
            updated_at,
        }
    }
}

/// A delivery as stored (its event is read apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: Uuid,
    /// `events.id` of the event delivered.
    pub event_pk: i64,
    pub resource_id: Uuid,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl From<webhook_delivery::Model> for DeliveryRow {
    fn from(row: webhook_delivery::Model) -> Self {
        Self {
            id: row.id,
            endpoint_id: row.endpoint_id,
            event_pk: row.event_pk,
            resource_id: row.resource_id,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_attempt_at: row.last_attempt_at,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// How many endpoints the scope's tenant has.
pub(crate) async fn count_endpoints(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<u64, DbErr> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::TenantId.eq(scope.tenant_uuid()))
        .count(conn)
        .await
}

/// Inserts `new` as an endpoint of the scope's tenant; the stored row.
pub(crate) async fn insert_endpoint(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    new: NewEndpoint,
) -> Result<EndpointRow, DbErr> {
    let row = webhook_endpoint::ActiveModel {
        id: Set(new.id),
        tenant_id: Set(scope.tenant_uuid()),
        event_types: Set(new.event_types),
        url: Set(new.url),
        description: Set(new.description),
        enabled: Set(new.enabled),
        secret: Set(new.secret),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        created_at: Set(new.created_at),
        updated_at: Set(new.created_at),
    };
    Ok(row.insert(conn).await?.into())
}

/// The scope's endpoints, oldest first.
pub(crate) async fn endpoints(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<Vec<EndpointRow>, DbErr> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::TenantId.eq(scope.tenant_uuid()))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(EndpointRow::from)
        .collect())
}

/// The scope's endpoint `id`.
pub(crate) async fn endpoint(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Option<EndpointRow>, DbErr> {
    Ok(webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
        .map(EndpointRow::from))
}

/// Writes `changes` to the scope's endpoint `id`; the row as it is now.
/// `RecordNotUpdated` if it is gone.
pub(crate) async fn update_endpoint(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
    changes: EndpointChanges,
) -> Result<EndpointRow, DbErr> {
    let mut active = webhook_endpoint::ActiveModel {
        id: Unchanged(id),
        ..Default::default()
    };
    if let Some(event_types) = changes.event_types {
        active.event_types = Set(event_types);
    }
    if let Some(url) = changes.url {
        active.url = Set(url);
    }
    if let Some(description) = changes.description {
        active.description = Set(description);
    }
    if let Some(enabled) = changes.enabled {
        active.enabled = Set(enabled);
    }
    if let Some(previous) = changes.previous_secret {
        active.previous_secret = Set(previous);
    }
    if let Some(until) = changes.previous_secret_expires_at {
        active.previous_secret_expires_at = Set(until);
    }
    if let Some(secret) = changes.secret {
        active.secret = Set(secret);
    }
    active.updated_at = Set(changes.updated_at);
    Ok(webhook_endpoint::Entity::update(active)
        .validate()?
        .filter(webhook_endpoint::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?
        .into())
}

/// Deletes the scope's endpoint `id` (its deliveries go with it); rows deleted.
pub(crate) async fn delete_endpoint(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<u64, DbErr> {
    Ok(webhook_endpoint::Entity::delete_many()
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?
        .rows_affected)
}

/// The scope's delivery `id` of the endpoint `endpoint`.
pub(crate) async fn delivery(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    endpoint: Uuid,
    id: i64,
) -> Result<Option<DeliveryRow>, DbErr> {
    Ok(webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(webhook_delivery::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
        .map(DeliveryRow::from))
}

/// Up to `limit` of the endpoint's deliveries, newest first, of `status` if given, older
/// than the id `before` if given.
pub(crate) async fn deliveries(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    endpoint: Uuid,
    status: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<DeliveryRow>, DbErr> {
    let mut query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(webhook_delivery::Column::TenantId.eq(scope.tenant_uuid()))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit);
    if let Some(status) = status {
        query = query.filter(webhook_delivery::Column::Status.eq(status));
    }
    if let Some(before) = before {
        query = query.filter(webhook_delivery::Column::Id.lt(before));
    }
    Ok(query
        .all(conn)
        .await?
        .into_iter()
        .map(DeliveryRow::from)
        .collect())
}

/// The endpoint's deliveries counted by stored status.
pub(crate) async fn counts_by_status(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    endpoint: Uuid,
) -> Result<HashMap<String, i64>, DbErr> {
    let rows: Vec<(String, i64)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Status)
        .column_as(webhook_delivery::Column::Id.count(), "n")
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(webhook_delivery::Column::TenantId.eq(scope.tenant_uuid()))
        .group_by(webhook_delivery::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// How many of the tenant's deliveries, of all its endpoints, have `status`.
pub(crate) async fn count_with_status(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    status: &str,
) -> Result<u64, DbErr> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(webhook_delivery::Column::Status.eq(status))
        .count(conn)
        .await
}

/// Queues again, due at `now`, the endpoint's delivery `Some(id)` unless it is pending,
/// or (`None`) every failed one; how many were queued.
pub(crate) async fn requeue(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    endpoint: Uuid,
    delivery: Option<i64>,
    now: i64,
) -> Result<u64, DbErr> {
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value("pending"))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::CreatedAt, Expr::value(now))
        .col_expr(
            webhook_delivery::Column::FinishedAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(webhook_delivery::Column::TenantId.eq(scope.tenant_uuid()));
    update = match delivery {
        Some(id) => update
            .filter(webhook_delivery::Column::Id.eq(id))
            .filter(webhook_delivery::Column::Status.ne("pending")),
        None => update.filter(webhook_delivery::Column::Status.eq("failed")),
    };
    Ok(update.exec(conn).await?.rows_affected)
}

/// Whether the endpoint has the delivery `id`.
pub(crate) async fn delivery_exists(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    endpoint: Uuid,
    id: i64,
) -> Result<bool, DbErr> {
    let found = webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(webhook_delivery::Column::TenantId.eq(scope.tenant_uuid()))
        .count(conn)
        .await?;
    Ok(found > 0)
}
