//! The SCIM operations by resource kind: `/Users` and `/Groups` (and Bulk) call these,
//! so the surfaces above need no per-kind mirror of the service.

use roster_scim::list::ListQuery;
use roster_scim::schema::ResourceKind;
use serde_json::Value;

use super::{
    Operation, ProjectionParams, ProvResult, Provisioning, RequestContext, Resource, Written,
};

impl Operation {
    /// The log's operation for a create of `kind`.
    pub fn create_of(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::User => Self::UserCreate,
            ResourceKind::Group => Self::GroupCreate,
        }
    }

    /// The log's operation for a list (or `.search`) of `kind`.
    pub fn list_of(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::User => Self::UserList,
            ResourceKind::Group => Self::GroupList,
        }
    }

    /// The log's operation for a PUT of `kind`.
    pub fn replace_of(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::User => Self::UserReplace,
            ResourceKind::Group => Self::GroupReplace,
        }
    }

    /// The log's operation for a PATCH of `kind`.
    pub fn patch_of(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::User => Self::UserPatch,
            ResourceKind::Group => Self::GroupPatch,
        }
    }
}

impl Provisioning {
    pub async fn create(
        &self,
        kind: ResourceKind,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        match kind {
            ResourceKind::User => self.create_user(ctx, body, params).await,
            ResourceKind::Group => self.create_group(ctx, body, params).await,
        }
    }

    pub async fn get(
        &self,
        kind: ResourceKind,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        match kind {
            ResourceKind::User => self.get_user(ctx, id, params).await,
            ResourceKind::Group => self.get_group(ctx, id, params).await,
        }
    }

    pub async fn replace(
        &self,
        kind: ResourceKind,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        match kind {
            ResourceKind::User => self.replace_user(ctx, id, body, if_match, params).await,
            ResourceKind::Group => self.replace_group(ctx, id, body, if_match, params).await,
        }
    }

    /// `None`: the change was applied and nothing is returned (a group PATCH without
    /// `attributes` answers 204).
    pub async fn patch(
        &self,
        kind: ResourceKind,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        match kind {
            ResourceKind::User => self
                .patch_user(ctx, id, body, if_match, params)
                .await
                .map(Some),
            ResourceKind::Group => self.patch_group(ctx, id, body, if_match, params).await,
        }
    }

    pub async fn delete(
        &self,
        kind: ResourceKind,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        match kind {
            ResourceKind::User => self.delete_user(ctx, id, if_match).await,
            ResourceKind::Group => self.delete_group(ctx, id, if_match).await,
        }
    }

    pub async fn list(
        &self,
        kind: ResourceKind,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> ProvResult<Value> {
        match kind {
            ResourceKind::User => self.list_users(ctx, query).await,
            ResourceKind::Group => self.list_groups(ctx, query).await,
        }
    }
}
