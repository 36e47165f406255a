//! Tenants as stored (`tenants`, a node-wide table): creating one, its status and SCIM
//! rate limit, and the lookups by slug — as [`Tenant`]s.

use std::collections::HashMap;

use roster_entity::tenant;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::tenants::{Tenant, TenantId, TenantName, TenantSlug, TenantStatus};
use crate::time::Timestamp;

impl From<tenant::Model> for Tenant {
    fn from(row: tenant::Model) -> Self {
        Self {
            id: TenantId(row.id),
            // Stored slugs were parsed on the way in.
            slug: TenantSlug::from_stored(row.slug),
            name: row.name,
            status: TenantStatus::from_column(&row.status),
            created_at: Timestamp::from_micros(row.created_at),
        }
    }
}

/// Inserts a new, active tenant with `id` (a slug taken already fails with a unique violation).
pub(crate) async fn insert(
    conn: &impl ConnectionTrait,
    id: TenantId,
    slug: &TenantSlug,
    name: &TenantName,
    now: Timestamp,
) -> Result<Tenant, DbErr> {
    let now = now.as_micros();
    let row = tenant::ActiveModel {
        id: Set(id.0),
        slug: Set(slug.as_str().to_owned()),
        name: Set(name.as_str().to_owned()),
        status: Set(TenantStatus::Active.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        scim_rate_limit: Set(None),
        rules_version: Set(0),
    };
    Ok(Tenant::from(row.insert(conn).await?))
}

/// Sets a tenant's SCIM requests per second per token (`None` = the server's default).
pub(crate) async fn set_scim_rate_limit(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    limit: Option<i32>,
    now: Timestamp,
) -> Result<(), DbErr> {
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::ScimRateLimit,
            sea_orm::sea_query::Expr::value(limit),
        )
        .col_expr(
            tenant::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now.as_micros()),
        )
        .filter(tenant::Column::Id.eq(tenant.0))
        .exec(conn)
        .await?;
    Ok(())
}

/// The tenant with this id, if any.
pub(crate) async fn find(
    conn: &impl ConnectionTrait,
    id: TenantId,
) -> Result<Option<Tenant>, DbErr> {
    Ok(tenant::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(Tenant::from))
}

/// The slugs of the tenants `ids` (those that exist), by tenant id.
pub(crate) async fn slugs_of(
    conn: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    // In chunks: an operator's list of every account can name more tenants than one
    // statement may bind (SQLite's 32,766 variables).
    let mut slugs = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(SLUGS_PER_STATEMENT) {
        let rows: Vec<(Uuid, String)> = tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .column(tenant::Column::Slug)
            .filter(tenant::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        slugs.extend(rows);
    }
    Ok(slugs)
}

/// Tenant ids bound by one statement of [`slugs_of`].
const SLUGS_PER_STATEMENT: usize = 1_000;

/// The tenant with this slug, if any.
pub(crate) async fn find_by_slug(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<Tenant>, DbErr> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(conn)
        .await?
        .map(Tenant::from))
}

/// Up to `limit` tenants by slug, those after `after` (keyset on the unique slug).
pub(crate) async fn page_by_slug(
    conn: &impl ConnectionTrait,
    after: Option<&TenantSlug>,
    limit: u64,
) -> Result<Vec<Tenant>, DbErr> {
    let mut query = tenant::Entity::find()
        .order_by_asc(tenant::Column::Slug)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(tenant::Column::Slug.gt(after.as_str()));
    }
    let rows = query.all(conn).await?;
    Ok(rows.into_iter().map(Tenant::from).collect())
}

/// Sets a tenant's status and returns the tenant as updated.
pub(crate) async fn set_status(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    status: TenantStatus,
    now: Timestamp,
) -> Result<Tenant, DbErr> {
    let row = tenant::ActiveModel {
        id: Set(tenant.0),
        status: Set(status.as_str().to_owned()),
        updated_at: Set(now.as_micros()),
        ..Default::default()
    }
    .update(conn)
    .await?;
    Ok(row.into())
}
