//! The provisioning log as stored: one `provisioning_log` row per SCIM or API request
//! (a write, a failure, a refused request, a connection test), and the latest rows the
//! connection check shows.

use roster_entity::provisioning_log;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Insert, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::TenantScope;
use crate::directory::LogEntry;
use crate::time::Timestamp;

/// One provisioning log row as the services describe it (the tenant comes from the scope).
#[derive(Clone, Debug)]
pub(crate) struct LogRow {
    pub occurred_at: Timestamp,
    pub request_id: String,
    pub token_id: Option<Uuid>,
    pub operation: &'static str,
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: &'static str,
    pub status: i32,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    pub duration_us: i64,
    pub user_name: Option<String>,
    pub user_name_lower: Option<String>,
    pub warning: Option<String>,
}

/// The insert of one log row, to push onto the write's own [`super::writes::Writes`].
pub(crate) type LogInsert = Insert<provisioning_log::ActiveModel>;

/// The one builder of `provisioning_log` rows.
fn active(scope: TenantScope, row: LogRow) -> provisioning_log::ActiveModel {
    provisioning_log::ActiveModel {
        tenant_id: Set(scope.tenant_uuid()),
        occurred_at: Set(row.occurred_at.as_micros()),
        request_id: Set(row.request_id),
        token_id: Set(row.token_id),
        operation: Set(row.operation.to_owned()),
        resource_type: Set(row.resource_type.map(str::to_owned)),
        resource_id: Set(row.resource_id),
        outcome: Set(row.outcome.to_owned()),
        status: Set(row.status),
        scim_type: Set(row.scim_type),
        detail: Set(row.detail),
        duration_us: Set(row.duration_us),
        user_name_lower: Set(row.user_name_lower),
        user_name: Set(row.user_name),
        warning: Set(row.warning),
        ..Default::default()
    }
}

/// The insert of `row` in the scope's log, to run with the change it records.
pub(crate) fn insert(scope: TenantScope, row: LogRow) -> LogInsert {
    provisioning_log::Entity::insert(active(scope, row))
}

/// Writes `row` in the scope's log on its own.
pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    row: LogRow,
) -> Result<(), DbErr> {
    insert(scope, row).exec(conn).await?;
    Ok(())
}

/// Writes `row` in the scope's log on its own, reading the stored row back (the insert a
/// failed request's row has always been written with).
pub(crate) async fn record_read_back(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    row: LogRow,
) -> Result<(), DbErr> {
    active(scope, row).insert(conn).await?;
    Ok(())
}

/// The scope's latest row of `operation` (an index lookup on `(tenant_id, id)`).
pub(crate) async fn latest(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    operation: &str,
) -> Result<Option<LogEntry>, DbErr> {
    Ok(provisioning_log::Entity::find()
        .filter(provisioning_log::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(provisioning_log::Column::Operation.eq(operation))
        .order_by_desc(provisioning_log::Column::Id)
        .one(conn)
        .await?
        .map(LogEntry::from))
}
