//! `POST /.search` at the root of a tenant's SCIM endpoint: users, then groups, as one
//! list paged with `startIndex`.

use std::sync::Arc;

use crate::rules::TenantRules;

use roster_scim::list::{ListQuery, ListResponse};
use serde_json::Value;

use super::super::{ProvResult, Provisioning, RequestContext};

impl Provisioning {
    /// `POST /.search` at the root: users, then groups, paged as one list. A filter that
    /// names attributes one type does not have matches nothing of that type.
    pub async fn search_all(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        self.run(ctx, super::super::Operation::Search, None, |rules| {
            self.search_all_inner(ctx, rules, query)
        })
        .await
    }

    async fn search_all_inner(
        &self,
        ctx: &RequestContext,
        rules: Arc<TenantRules>,
        query: &ListQuery,
    ) -> ProvResult<Value> {
        if query.cursor.is_some() {
            return Err(roster_scim::ScimError::invalid_value(
                "cursor paging (RFC 9865) is offered on /Users and /Groups; the root \
                 /.search pages with startIndex",
            )
            .into());
        }
        let page = query.page(self.settings.default_count, self.settings.max_results());
        let counting = ListQuery {
            count: Some(0),
            start_index: 1,
            ..query.clone()
        };
        let users_total = match self.list_users_inner(ctx, rules.clone(), &counting).await {
            Ok(list) => Some(list["totalResults"].as_u64().unwrap_or(0)),
            Err(super::super::ProvisioningError::Scim(_)) => None,
            Err(err) => return Err(err),
        };
        let groups_total = match self.list_groups_inner(ctx, rules.clone(), &counting).await {
            Ok(list) => Some(list["totalResults"].as_u64().unwrap_or(0)),
            Err(super::super::ProvisioningError::Scim(err)) if users_total.is_none() => {
                return Err(err.into());
            }
            Err(super::super::ProvisioningError::Scim(_)) => None,
            Err(err) => return Err(err),
        };
        let (users, groups) = (users_total.unwrap_or(0), groups_total.unwrap_or(0));
        let mut resources = Vec::new();
        let mut remaining = page.limit;
        if page.offset < users && remaining > 0 {
            let take = Ord::min(remaining, users - page.offset);
            let list = self
                .list_users_inner(
                    ctx,
                    rules.clone(),
                    &ListQuery {
                        start_index: page.offset + 1,
                        count: Some(take),
                        ..query.clone()
                    },
                )
                .await?;
            resources.extend(list["Resources"].as_array().cloned().unwrap_or_default());
            remaining -= take;
        }
        if remaining > 0 && groups > 0 {
            let offset = page.offset.saturating_sub(users);
            if offset < groups {
                let list = self
                    .list_groups_inner(
                        ctx,
                        rules,
                        &ListQuery {
                            start_index: offset + 1,
                            count: Some(remaining),
                            ..query.clone()
                        },
                    )
                    .await?;
                resources.extend(list["Resources"].as_array().cloned().unwrap_or_default());
            }
        }
        Ok(ListResponse::indexed(users + groups, page.start_index, resources).to_json())
    }
}
