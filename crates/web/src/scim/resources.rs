//! `/Users` and `/Groups`: the same handlers for both, over [`Kind`].

use std::future::Future;

use actix_web::{HttpRequest, HttpResponse, web};
use roster_core::provisioning::{
    Operation, ProjectionParams, ProvResult, Provisioning, RequestContext, Resource, Written,
};
use roster_scim::list::ListQuery;
use serde_json::Value;

use super::caller::{RawBody, ScimCaller};
use super::error::ScimHttpError;
use super::params::QueryParams;
use super::respond;

/// One resource type's operations.
pub(crate) trait Kind {
    const CREATE: Operation;
    const LIST: Operation;
    const REPLACE: Operation;
    const PATCH: Operation;
    fn create(
        p: &Provisioning,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> impl Future<Output = ProvResult<Written>>;
    fn get(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> impl Future<Output = ProvResult<Resource>>;
    fn replace(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> impl Future<Output = ProvResult<Resource>>;
    fn patch(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> impl Future<Output = ProvResult<Option<Resource>>>;
    fn delete(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> impl Future<Output = ProvResult<()>>;
    fn list(
        p: &Provisioning,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> impl Future<Output = ProvResult<Value>>;
}

pub(crate) struct Users;
pub(crate) struct Groups;

impl Kind for Users {
    const CREATE: Operation = Operation::UserCreate;
    const LIST: Operation = Operation::UserList;
    const REPLACE: Operation = Operation::UserReplace;
    const PATCH: Operation = Operation::UserPatch;
    async fn create(
        p: &Provisioning,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        p.create_user(ctx, body, params).await
    }
    async fn get(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        p.get_user(ctx, id, params).await
    }
    async fn replace(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        p.replace_user(ctx, id, body, if_match, params).await
    }
    async fn patch(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        p.patch_user(ctx, id, body, if_match, params)
            .await
            .map(Some)
    }
    async fn delete(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        p.delete_user(ctx, id, if_match).await
    }
    async fn list(p: &Provisioning, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        p.list_users(ctx, query).await
    }
}

impl Kind for Groups {
    const CREATE: Operation = Operation::GroupCreate;
    const LIST: Operation = Operation::GroupList;
    const REPLACE: Operation = Operation::GroupReplace;
    const PATCH: Operation = Operation::GroupPatch;
    async fn create(
        p: &Provisioning,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        p.create_group(ctx, body, params).await
    }
    async fn get(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        p.get_group(ctx, id, params).await
    }
    async fn replace(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        p.replace_group(ctx, id, body, if_match, params).await
    }
    async fn patch(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        p.patch_group(ctx, id, body, if_match, params).await
    }
    async fn delete(
        p: &Provisioning,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        p.delete_group(ctx, id, if_match).await
    }
    async fn list(p: &Provisioning, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        p.list_groups(ctx, query).await
    }
}

type Answer = Result<HttpResponse, ScimHttpError>;

/// `{id}` of `/Users/{id}` and `/Groups/{id}`, under either base URL (the per-tenant one
/// also has `{tenant}`, which the caller has already checked).
#[derive(serde::Deserialize)]
pub(crate) struct IdPath {
    id: String,
}

pub(crate) async fn create<K: Kind>(req: HttpRequest, caller: ScimCaller, body: RawBody) -> Answer {
    let json = caller.json(K::CREATE, &body).await?;
    let params = QueryParams::from_request(&req);
    let written = K::create(
        caller.provisioning(),
        &caller.ctx,
        &json,
        params.projection(),
    )
    .await
    .map_err(|e| caller.fail(e))?;
    Ok(respond::created(&written.resource))
}

pub(crate) async fn get<K: Kind>(
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
) -> Answer {
    let params = QueryParams::from_request(&req);
    let resource = K::get(
        caller.provisioning(),
        &caller.ctx,
        &id.id,
        params.projection(),
    )
    .await
    .map_err(|e| caller.fail(e))?;
    Ok(respond::resource(&req, &resource))
}

pub(crate) async fn replace<K: Kind>(
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
    body: RawBody,
) -> Answer {
    let json = caller.json(K::REPLACE, &body).await?;
    let params = QueryParams::from_request(&req);
    let if_match = respond::if_match(&req);
    let resource = K::replace(
        caller.provisioning(),
        &caller.ctx,
        &id.id,
        &json,
        if_match.as_deref(),
        params.projection(),
    )
    .await
    .map_err(|e| caller.fail(e))?;
    Ok(respond::updated(&resource))
}

pub(crate) async fn patch<K: Kind>(
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
    body: RawBody,
) -> Answer {
    let json = caller.json(K::PATCH, &body).await?;
    let params = QueryParams::from_request(&req);
    let if_match = respond::if_match(&req);
    let resource = K::patch(
        caller.provisioning(),
        &caller.ctx,
        &id.id,
        &json,
        if_match.as_deref(),
        params.projection(),
    )
    .await
    .map_err(|e| caller.fail(e))?;
    Ok(match resource {
        Some(resource) => respond::updated(&resource),
        None => HttpResponse::NoContent().finish(),
    })
}

pub(crate) async fn delete<K: Kind>(
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
) -> Answer {
    let if_match = respond::if_match(&req);
    K::delete(
        caller.provisioning(),
        &caller.ctx,
        &id.id,
        if_match.as_deref(),
    )
    .await
    .map_err(|e| caller.fail(e))?;
    Ok(HttpResponse::NoContent().finish())
}

pub(crate) async fn list<K: Kind>(req: HttpRequest, caller: ScimCaller) -> Answer {
    let params = QueryParams::from_request(&req);
    let query = match ListQuery::from_query(params.iter()) {
        Ok(query) => query,
        Err(err) => return Err(caller.reject(K::LIST, err).await),
    };
    let body = K::list(caller.provisioning(), &caller.ctx, &query)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(actix_web::http::StatusCode::OK, &body))
}

/// `POST /Users/.search`: the same as `GET /Users` with the query in the body.
pub(crate) async fn search<K: Kind>(caller: ScimCaller, body: RawBody) -> Answer {
    let json = caller.json(K::LIST, &body).await?;
    let query = match ListQuery::from_search_request(&json) {
        Ok(query) => query,
        Err(err) => return Err(caller.reject(K::LIST, err).await),
    };
    let body = K::list(caller.provisioning(), &caller.ctx, &query)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(actix_web::http::StatusCode::OK, &body))
}
