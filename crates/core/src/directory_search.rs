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

use uuid::Uuid;

use crate::Result;
use crate::directory::{GroupSummary, LogEntry, LogQuery, SearchTerm, TenantDirectory};
use crate::paging::{Page, PageSize};
use crate::store::reads::LogSearch;

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
        let search = search.map(|term| LogSearch {
            term: term.as_str(),
            matched_resources: MATCHED_RESOURCES,
        });
        let entries = self.reads().log(query, search, size.probe()).await?;
        let mut page = Page::from_probe(entries, size, |entry: &LogEntry| entry.id);
        self.name_resources(&mut page.items).await?;
        Ok(page)
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
        let users = self.reads().user_names(user_ids).await?;
        names.extend(users.into_iter().map(|(id, name)| (id.to_string(), name)));
        let groups = self.reads().group_names(group_ids).await?;
        names.extend(groups.into_iter().map(|(id, name)| (id.to_string(), name)));
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
