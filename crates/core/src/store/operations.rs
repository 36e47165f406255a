//! What the operator's command line (and the logs that name tenants and tokens) read and
//! change as stored: tenants with their counts, tokens by prefix, the migrations applied.

use roster_entity::{tenant, user};
use roster_migration::{Migrator, MigratorTrait, SchemaManager, seaql_migrations};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::TenantScope;
use crate::tenants::Tenant;

/// A tenant with its stored rate limit (which [`Tenant`] leaves out).
#[derive(Clone, Debug)]
pub(crate) struct TenantRow {
    pub tenant: Tenant,
    /// Requests per second per token; `None` = the server's default.
    pub scim_rate_limit: Option<i32>,
}

impl From<tenant::Model> for TenantRow {
    fn from(row: tenant::Model) -> Self {
        Self {
            scim_rate_limit: row.scim_rate_limit,
            tenant: Tenant::from(row),
        }
    }
}

/// What a tenant update changes; `None` leaves a column as it is.
#[derive(Clone, Debug, Default)]
pub(crate) struct TenantChanges {
    pub name: Option<String>,
    pub scim_rate_limit: Option<Option<i32>>,
    pub status: Option<String>,
}

/// Every tenant, by slug.
pub(crate) async fn tenants(conn: &impl ConnectionTrait) -> Result<Vec<TenantRow>, DbErr> {
    Ok(tenant::Entity::find()
        .order_by_asc(tenant::Column::Slug)
        .all(conn)
        .await?
        .into_iter()
        .map(TenantRow::from)
        .collect())
}

/// The tenant `id`.
pub(crate) async fn tenant(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<TenantRow>, DbErr> {
    Ok(tenant::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(TenantRow::from))
}

/// Writes `changes` and `updated_at` to the tenant `id`; the tenant as it is now.
pub(crate) async fn update_tenant(
    conn: &impl ConnectionTrait,
    id: Uuid,
    updated_at: i64,
    changes: TenantChanges,
) -> Result<TenantRow, DbErr> {
    let mut row = tenant::ActiveModel {
        id: Set(id),
        updated_at: Set(updated_at),
        ..Default::default()
    };
    if let Some(name) = changes.name {
        row.name = Set(name);
    }
    if let Some(limit) = changes.scim_rate_limit {
        row.scim_rate_limit = Set(limit);
    }
    if let Some(status) = changes.status {
        row.status = Set(status);
    }
    Ok(TenantRow::from(row.update(conn).await?))
}

/// How many users the scope's tenant has (`active_only`: only the active ones).
pub(crate) async fn count_users(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    active_only: bool,
) -> Result<u64, DbErr> {
    let mut query = scope.users();
    if active_only {
        query = query.filter(user::Column::Active.eq(true));
    }
    query.count(conn).await
}

/// How many groups the scope's tenant has.
pub(crate) async fn count_groups(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<u64, DbErr> {
    scope.groups().count(conn).await
}

/// The names of the migrations this binary knows, in order.
pub(crate) fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect()
}

/// The migrations the database has applied, with when (seconds since the epoch); none
/// when it has no migration table yet.
pub(crate) async fn applied_migrations(
    conn: &DatabaseConnection,
) -> Result<Vec<(String, i64)>, DbErr> {
    let table = Migrator::migration_table_name();
    if !SchemaManager::new(conn)
        .has_table(table.to_string())
        .await?
    {
        return Ok(Vec::new());
    }
    Ok(seaql_migrations::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|row: seaql_migrations::Model| (row.version, row.applied_at))
        .collect())
}
