//! Searching the provisioning log and the groups, and naming the log's resources by
//! userName or displayName rather than by id — additions to [`TenantDirectory`].
//!
//! Every query carries the tenant. A log search is a set of index lookups: a UUID is a
//! request id or a resource id (`(tenant_id, request_id)`, `(tenant_id, resource_id)`);
//! an operation name is `(tenant_id, operation, id)`, a userName the row recorded
//! `(tenant_id, user_name_lower, id)`; other text also finds at most
//! [`MATCHED_RESOURCES`] users and groups by name (the users page's bounded scan), whose
//! entries are then looked up by resource id.

use std::collections::HashMap;

use roster_entity::{group, provisioning_log, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::Result;
use crate::directory::{GroupSummary, LogEntry, LogQuery, SearchTerm, TenantDirectory};
use crate::paging::{Page, PageSize};

/// Users and groups a text search of the log looks for at most.
const MATCHED_RESOURCES: u64 = 50;

impl TenantDirectory<'_> {
    /// The log, newest first, filtered like [`TenantDirectory::log`] and by `search`,
    /// with each resource named.
    pub async fn log_matching(
        &self,
        query: &LogQuery,
        search: Option<&SearchTerm>,
        size: PageSize,
    ) -> Result<Page<LogEntry, i64>> {
        let mut select = provisioning_log::Entity::find()
            .filter(provisioning_log::Column::TenantId.eq(self.tenant))
            .order_by_desc(provisioning_log::Column::Id)
            .limit(size.probe());
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
        let mut page = Page::from_probe(
            rows.into_iter().map(LogEntry::from).collect(),
            size,
            |entry: &LogEntry| entry.id,
        );
        self.name_resources(&mut page.items).await?;
        Ok(page)
    }

    async fn search_condition(&self, search: &SearchTerm) -> Result<Condition> {
        let term = search.as_str();
        if Uuid::parse_str(term).is_ok() {
            return Ok(Condition::any()
                .add(provisioning_log::Column::RequestId.eq(term))
                .add(provisioning_log::Column::ResourceId.eq(term)));
        }
        let pattern = search.like_pattern();
        let users: Vec<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::TenantId.eq(self.tenant))
            .filter(
                Condition::any()
                    .add(Expr::col(user::Column::UserNameLower).like(pattern.clone()))
                    .add(Expr::col(user::Column::PrimaryEmailLower).like(pattern.clone())),
            )
            .limit(MATCHED_RESOURCES)
            .into_tuple()
            .all(self.db.reader())
            .await?;
        let groups: Vec<Uuid> = group::Entity::find()
            .select_only()
            .column(group::Column::Id)
            .filter(group::Column::TenantId.eq(self.tenant))
            .filter(Expr::col(group::Column::DisplayNameLower).like(pattern))
            .limit(MATCHED_RESOURCES)
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

    /// Names the users and groups of these entries (two queries for any number).
    pub async fn name_resources(&self, entries: &mut [LogEntry]) -> Result<()> {
        let ids_of = |kind: &str| -> Vec<Uuid> {
            entries
                .iter()
                .filter(|e| {
                    e.resource_type
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case(kind))
                })
                .filter_map(|e| e.resource_id.as_deref())
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect()
        };
        let (user_ids, group_ids) = (ids_of("User"), ids_of("Group"));
        let mut names: HashMap<String, String> = HashMap::new();
        if !user_ids.is_empty() {
            let rows: Vec<(Uuid, String)> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .column(user::Column::UserName)
                .filter(user::Column::TenantId.eq(self.tenant))
                .filter(user::Column::Id.is_in(user_ids))
                .into_tuple()
                .all(self.db.reader())
                .await?;
            names.extend(rows.into_iter().map(|(id, name)| (id.to_string(), name)));
        }
        if !group_ids.is_empty() {
            let rows: Vec<(Uuid, String)> = group::Entity::find()
                .select_only()
                .column(group::Column::Id)
                .column(group::Column::DisplayName)
                .filter(group::Column::TenantId.eq(self.tenant))
                .filter(group::Column::Id.is_in(group_ids))
                .into_tuple()
                .all(self.db.reader())
                .await?;
            names.extend(rows.into_iter().map(|(id, name)| (id.to_string(), name)));
        }
        for entry in entries {
            // The name the row recorded (what the request was about, even a user
            // refused or deleted since), else the resource's current one.
            entry.resource_name = entry.user_name.clone().or_else(|| {
                entry
                    .resource_id
                    .as_ref()
                    .and_then(|id| names.get(id).cloned())
            });
        }
        Ok(())
    }

    /// Groups whose displayName contains `search` (a bounded scan of the tenant's
    /// groups, like the users search), in id order, keyset-paged.
    pub async fn groups_matching(
        &self,
        search: Option<&SearchTerm>,
        after: Option<Uuid>,
        size: PageSize,
    ) -> Result<Page<GroupSummary, Uuid>> {
        let Some(search) = search else {
            return self.groups(after, size).await;
        };
        let groups = self
            .reads()
            .groups(after, Some(search.as_str()), size.probe())
            .await?;
        Ok(Page::from_probe(
            groups.into_iter().map(GroupSummary::from).collect(),
            size,
            |g: &GroupSummary| g.id,
        ))
    }
}
