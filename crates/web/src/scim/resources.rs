//! `/Users` and `/Groups`: the same handlers for both; each route's resource carries
//! the [`ResourceKind`] it serves (`app_data`), and core takes it.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_core::provisioning::Operation;
use roster_scim::list::ListQuery;
use roster_scim::schema::ResourceKind;

use super::caller::{RawBody, ScimCaller};
use super::error::ScimHttpError;
use super::params::QueryParams;
use super::respond;

/// The kind of resource a route serves, from its resource's `app_data`.
pub(crate) type Kind = web::Data<ResourceKind>;

type Answer = Result<HttpResponse, ScimHttpError>;

/// `{id}` of `/Users/{id}` and `/Groups/{id}`, under either base URL (the per-tenant one
/// also has `{tenant}`, which the caller has already checked).
#[derive(serde::Deserialize)]
pub(crate) struct IdPath {
    id: String,
}

pub(crate) async fn create(
    kind: Kind,
    req: HttpRequest,
    caller: ScimCaller,
    body: RawBody,
) -> Answer {
    let json = caller.json(Operation::create_of(**kind), &body).await?;
    let params = QueryParams::from_request(&req);
    let written = caller
        .provisioning()
        .create(**kind, &caller.ctx, &json, params.projection())
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::created(&written.resource))
}

pub(crate) async fn get(
    kind: Kind,
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
) -> Answer {
    let params = QueryParams::from_request(&req);
    let resource = caller
        .provisioning()
        .get(**kind, &caller.ctx, &id.id, params.projection())
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::resource(&req, &resource))
}

pub(crate) async fn replace(
    kind: Kind,
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
    body: RawBody,
) -> Answer {
    let json = caller.json(Operation::replace_of(**kind), &body).await?;
    let params = QueryParams::from_request(&req);
    let if_match = respond::if_match(&req);
    let resource = caller
        .provisioning()
        .replace(
            **kind,
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

pub(crate) async fn patch(
    kind: Kind,
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
    body: RawBody,
) -> Answer {
    let json = caller.json(Operation::patch_of(**kind), &body).await?;
    let params = QueryParams::from_request(&req);
    let if_match = respond::if_match(&req);
    let resource = caller
        .provisioning()
        .patch(
            **kind,
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

pub(crate) async fn delete(
    kind: Kind,
    req: HttpRequest,
    caller: ScimCaller,
    id: web::Path<IdPath>,
) -> Answer {
    let if_match = respond::if_match(&req);
    caller
        .provisioning()
        .delete(**kind, &caller.ctx, &id.id, if_match.as_deref())
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(HttpResponse::NoContent().finish())
}

pub(crate) async fn list(kind: Kind, req: HttpRequest, caller: ScimCaller) -> Answer {
    let params = QueryParams::from_request(&req);
    let query = match ListQuery::from_query(params.iter()) {
        Ok(query) => query,
        Err(err) => return Err(caller.reject(Operation::list_of(**kind), err).await),
    };
    let body = caller
        .provisioning()
        .list(**kind, &caller.ctx, &query)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(actix_web::http::StatusCode::OK, &body))
}

/// `POST /Users/.search`: the same as `GET /Users` with the query in the body.
pub(crate) async fn search(kind: Kind, caller: ScimCaller, body: RawBody) -> Answer {
    let json = caller.json(Operation::list_of(**kind), &body).await?;
    let query = match ListQuery::from_search_request(&json) {
        Ok(query) => query,
        Err(err) => return Err(caller.reject(Operation::list_of(**kind), err).await),
    };
    let body = caller
        .provisioning()
        .list(**kind, &caller.ctx, &query)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(actix_web::http::StatusCode::OK, &body))
}
