//! The admin audit trail as stored: `audit_log` rows written in each change's own
//! transaction, and the pages the log and the API read. A row's tenant is optional (an
//! operator's change of no tenant has none), so the functions take an
//! `Option<TenantScope>`: `None` is the node-wide log.

use roster_entity::audit_log;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::TenantScope;
use crate::audit::AuditEntry;
use crate::directory::SearchTerm;
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// One audit row as the services describe it (the tenant comes from the scope).
#[derive(Clone, Debug)]
pub(crate) struct AuditRow {
    pub occurred_at: Timestamp,
    pub actor_kind: &'static str,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: &'static str,
    pub target_kind: Option<&'static str>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    /// JSON text.
    pub before: Option<String>,
    /// JSON text.
    pub after: Option<String>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

/// What a page of the log is narrowed to, besides the tenant.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AuditQuery<'a> {
    /// Entries older than this id.
    pub before: Option<i64>,
    /// Actions starting with any of these.
    pub action_prefixes: Option<&'a [&'static str]>,
    /// Part of the actor's name.
    pub actor: Option<&'a SearchTerm>,
}

/// Writes `row` in the log of `scope`'s tenant (`None`: of no tenant).
pub(crate) async fn insert(
    conn: &impl ConnectionTrait,
    scope: Option<TenantScope>,
    row: AuditRow,
) -> Result<(), DbErr> {
    audit_log::Entity::insert(audit_log::ActiveModel {
        tenant_id: Set(scope.map(|s| s.tenant_uuid())),
        occurred_at: Set(row.occurred_at.as_micros()),
        actor_kind: Set(row.actor_kind.to_owned()),
        actor_id: Set(row.actor_id),
        actor_name: Set(row.actor_name),
        action: Set(row.action.to_owned()),
        target_kind: Set(row.target_kind.map(str::to_owned)),
        target_id: Set(row.target_id),
        target_name: Set(row.target_name),
        before: Set(row.before),
        after: Set(row.after),
        request_id: Set(row.request_id),
        client_address: Set(row.client_address),
        ..Default::default()
    })
    .exec(conn)
    .await?;
    Ok(())
}

/// Up to `limit` entries of `scope`'s tenant (`None`: every tenant's and those of no
/// tenant), newest first, narrowed by `query`.
pub(crate) async fn page(
    conn: &impl ConnectionTrait,
    scope: Option<TenantScope>,
    query: AuditQuery<'_>,
    limit: u64,
) -> Result<Vec<AuditEntry>, DbErr> {
    let mut select = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit);
    if let Some(scope) = scope {
        select = select.filter(audit_log::Column::TenantId.eq(scope.tenant_uuid()));
    }
    if let Some(before) = query.before {
        select = select.filter(audit_log::Column::Id.lt(before));
    }
    if let Some(prefixes) = query.action_prefixes {
        let mut any = Condition::any();
        for prefix in prefixes {
            any = any.add(audit_log::Column::Action.starts_with(*prefix));
        }
        select = select.filter(any);
    }
    if let Some(actor) = query.actor {
        select = select.filter(
            Expr::expr(Func::lower(Expr::col(audit_log::Column::ActorName)))
                .like(actor.like_pattern()),
        );
    }
    Ok(select
        .all(conn)
        .await?
        .into_iter()
        .map(AuditEntry::from)
        .collect())
}

/// Up to `limit` entries of the scope's tenant after the id `after`, oldest first.
pub(crate) async fn after(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    after: i64,
    limit: u64,
) -> Result<Vec<AuditEntry>, DbErr> {
    Ok(audit_log::Entity::find()
        .filter(audit_log::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(audit_log::Column::Id.gt(after))
        .order_by_asc(audit_log::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(AuditEntry::from)
        .collect())
}

impl From<audit_log::Model> for AuditEntry {
    fn from(row: audit_log::Model) -> Self {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Self {
            id: row.id,
            tenant_id: row.tenant_id.map(TenantId),
            tenant_slug: None,
            occurred_at: Timestamp::from_micros(row.occurred_at),
            actor_kind: row.actor_kind,
            actor_name: row.actor_name,
            action: row.action,
            target_kind: row.target_kind,
            target_id: row.target_id,
            target_name: row.target_name,
            before: json(row.before),
            after: json(row.after),
            request_id: row.request_id,
            client_address: row.client_address,
        }
    }
}
