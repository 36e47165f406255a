//! Discovery, root search, bulk and `/Me`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use roster_core::provisioning::Operation;
use roster_scim::ScimError;
use roster_scim::list::ListQuery;

use super::caller::{RawBody, ScimCaller};
use super::error::ScimHttpError;
use super::respond;

type Answer = Result<HttpResponse, ScimHttpError>;

pub(crate) async fn service_provider_config(caller: ScimCaller) -> Answer {
    let body = caller
        .provisioning()
        .service_provider_config(&caller.ctx)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(StatusCode::OK, &body))
}

pub(crate) async fn resource_types(caller: ScimCaller) -> Answer {
    let body = caller
        .provisioning()
        .resource_types(&caller.ctx)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(StatusCode::OK, &body))
}

/// `{name}` of `/ResourceTypes/{name}`, under either base URL.
#[derive(serde::Deserialize)]
pub(crate) struct NamePath {
    name: String,
}

/// `{urn}` of `/Schemas/{urn}`, under either base URL.
#[derive(serde::Deserialize)]
pub(crate) struct UrnPath {
    urn: String,
}

pub(crate) async fn resource_type(caller: ScimCaller, path: web::Path<NamePath>) -> Answer {
    let body = caller
        .provisioning()
        .resource_type(&caller.ctx, &path.name)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(StatusCode::OK, &body))
}

pub(crate) async fn schemas(caller: ScimCaller) -> Answer {
    let body = caller
        .provisioning()
        .schemas(&caller.ctx)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(StatusCode::OK, &body))
}

pub(crate) async fn schema(caller: ScimCaller, path: web::Path<UrnPath>) -> Answer {
    let body = caller
        .provisioning()
        .schema(&caller.ctx, &path.urn)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(StatusCode::OK, &body))
}

pub(crate) async fn search(caller: ScimCaller, body: RawBody) -> Answer {
    let json = caller.json(Operation::Search, &body).await?;
    let query = match ListQuery::from_search_request(&json) {
        Ok(query) => query,
        Err(err) => return Err(caller.reject(Operation::Search, err).await),
    };
    let body = caller
        .provisioning()
        .search_all(&caller.ctx, &query)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(StatusCode::OK, &body))
}

pub(crate) async fn bulk(caller: ScimCaller, body: RawBody) -> Answer {
    let json = caller.json(Operation::Bulk, &body).await?;
    let outcome = caller
        .provisioning()
        .bulk(&caller.ctx, &json, body.len())
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(respond::json(StatusCode::OK, &outcome.body))
}

/// `/Me` needs a notion of "the authenticated subject" that a provisioning token lacks.
pub(crate) async fn me(_caller: ScimCaller) -> Answer {
    Err(ScimError::new(
        501,
        None,
        "/Me is not supported: SCIM tokens act for a tenant, not a user",
    )
    .into())
}

pub(crate) async fn not_found() -> Answer {
    Err(ScimError::not_found("there is no such SCIM endpoint").into())
}

pub(crate) async fn method_not_allowed() -> Answer {
    Err(ScimError::new(405, None, "this method is not allowed on this endpoint").into())
}
