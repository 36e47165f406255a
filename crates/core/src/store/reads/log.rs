//! The provisioning log as the admin directory reads it: pages newest first (on
//! `(tenant_id, id)`), a resource's history, the text search of the log (index lookups,
//! and at most a bounded number of users and groups found by name), and the names of the
//! users and groups a page of entries is about.

use roster_entity::{group, provisioning_log, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Reads, like_contains};
use crate::directory::{LogEntry, LogQuery};
use crate::time::Timestamp;

impl From<provisioning_log::Model> for LogEntry {
    fn from(row: provisioning_log::Model) -> Self {
        Self {
            id: row.id,
            occurred_at: Timestamp::from_micros(row.occurred_at),
            request_id: row.request_id,
            operation: row.operation,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            outcome: row.outcome,
            status: row.status,
            scim_type: row.scim_type,
            detail: row.detail,
            duration_us: row.duration_us,
            resource_name: None,
            user_name: row.user_name,
            warning: row.warning,
        }
    }
}

/// A text search of the log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogSearch<'s> {
    /// The folded search term: a request or resource id, an operation, a userName the
    /// entry recorded, or text found in users' and groups' names.
    pub term: &'s str,
    /// How many users and groups the text may find at most.
    pub matched_resources: u64,
}

impl Reads<'_> {
    /// When the last SCIM request reached the tenant (its newest log entry).
    pub(crate) async fn last_activity(&self) -> Result<Option<Timestamp>, DbErr> {
        Ok(provisioning_log::Entity::find()
            .filter(provisioning_log::Column::TenantId.eq(self.scope.tenant_uuid()))
            .order_by_desc(provisioning_log::Column::Id)
            .one(self.db.reader())
            .await?
            .map(|row| Timestamp::from_micros(row.occurred_at)))
    }

    /// Up to `limit` entries about one resource, newest first.
    pub(crate) async fn history(
        &self,
        resource_id: String,
        limit: u64,
    ) -> Result<Vec<LogEntry>, DbErr> {
        Ok(provisioning_log::Entity::find()
            .filter(provisioning_log::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(provisioning_log::Column::ResourceId.eq(resource_id))
            .order_by_desc(provisioning_log::Column::Id)
            .limit(limit)
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(LogEntry::from)
            .collect())
    }

    /// Up to `limit` entries newest first, filtered by `query` and, when given, `search`.
    pub(crate) async fn log(
        &self,
        query: &LogQuery,
        search: Option<LogSearch<'_>>,
        limit: u64,
    ) -> Result<Vec<LogEntry>, DbErr> {
        let mut select = provisioning_log::Entity::find()
            .filter(provisioning_log::Column::TenantId.eq(self.scope.tenant_uuid()))
            .order_by_desc(provisioning_log::Column::Id)
            .limit(limit);
        if let Some(before) = query.before {
            select = select.filter(provisioning_log::Column::Id.lt(before));
        }
        if let Some(outcome) = query.outcome {
            select = select.filter(provisioning_log::Column::Outcome.eq(outcome.as_str()));
        }
        if let Some(search) = search {
            select = select.filter(self.search_condition(search).await?);
        }
        let rows = select.all(self.db.reader()).await?;
        Ok(rows.into_iter().map(LogEntry::from).collect())
    }

    async fn search_condition(&self, search: LogSearch<'_>) -> Result<Condition, DbErr> {
        let term = search.term;
        if Uuid::parse_str(term).is_ok() {
            return Ok(Condition::any()
                .add(provisioning_log::Column::RequestId.eq(term))
                .add(provisioning_log::Column::ResourceId.eq(term)));
        }
        let pattern = like_contains(term);
        let users: Vec<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(
                Condition::any()
                    .add(Expr::col(user::Column::UserNameLower).like(pattern.clone()))
                    .add(Expr::col(user::Column::PrimaryEmailLower).like(pattern.clone())),
            )
            .limit(search.matched_resources)
            .into_tuple()
            .all(self.db.reader())
            .await?;
        let groups: Vec<Uuid> = group::Entity::find()
            .select_only()
            .column(group::Column::Id)
            .filter(group::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(Expr::col(group::Column::DisplayNameLower).like(pattern))
            .limit(search.matched_resources)
            .into_tuple()
            .all(self.db.reader())
            .await?;
        let ids: Vec<String> = users
            .iter()
            .chain(groups.iter())
            .map(Uuid::to_string)
            .collect();
        // The userName a row names (refused creates included) is an index lookup, on
        // `(tenant_id, user_name_lower, id)`.
        Ok(Condition::any()
            .add(provisioning_log::Column::Operation.eq(term))
            .add(provisioning_log::Column::UserNameLower.eq(term))
            .add(provisioning_log::Column::ResourceId.is_in(ids)))
    }

    /// The userNames of these users of the tenant (no query for none).
    pub(crate) async fn user_names(&self, ids: Vec<Uuid>) -> Result<Vec<(Uuid, String)>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::UserName)
            .filter(user::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(user::Column::Id.is_in(ids))
            .into_tuple()
            .all(self.db.reader())
            .await
    }

    /// The display names of these groups of the tenant (no query for none).
    pub(crate) async fn group_names(&self, ids: Vec<Uuid>) -> Result<Vec<(Uuid, String)>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        group::Entity::find()
            .select_only()
            .column(group::Column::Id)
            .column(group::Column::DisplayName)
            .filter(group::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(group::Column::Id.is_in(ids))
            .into_tuple()
            .all(self.db.reader())
            .await
    }
}
