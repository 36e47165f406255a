//! The directory: users (filtered, paged), one user, groups, a group's members, and
//! the locations with their kiosks.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_core::api::{
    ApiPage, CursorKind, DIRECTORY_DEFAULT_LIMIT, DIRECTORY_MAX_LIMIT, UserFilter, parse_id_cursor,
    parse_limit,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::caller::ApiCaller;
use super::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    email: Option<String>,
    #[serde(rename = "userName")]
    user_name: Option<String>,
    active: Option<String>,
    group: Option<String>,
    location: Option<String>,
    #[serde(rename = "productRef")]
    product_ref: Option<String>,
}

fn list_query(req: &HttpRequest) -> Result<(ListQuery, u64), ApiError> {
    let query = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|err| ApiError::bad_request(format!("the query string is not valid: {err}")))?
        .into_inner();
    for (name, value) in [
        ("email", &query.email),
        ("userName", &query.user_name),
        ("location", &query.location),
        ("productRef", &query.product_ref),
    ] {
        if value.as_deref().is_some_and(|v| v.contains('\0')) {
            return Err(ApiError::bad_request(format!(
                "{name}: the NUL character (U+0000) cannot match anything stored"
            )));
        }
    }
    let limit = parse_limit(
        query.limit.as_deref(),
        DIRECTORY_DEFAULT_LIMIT,
        DIRECTORY_MAX_LIMIT,
    )?;
    Ok((query, limit))
}

fn cursor(kind: CursorKind, raw: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => Ok(Some(parse_id_cursor(kind, raw)?)),
    }
}

fn id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw.trim())
        .map_err(|_| ApiError::bad_request(format!("{what}: must be a UUID")))
}

/// A text filter value: absent and empty are both "no filter".
fn given(raw: Option<String>) -> Option<String> {
    raw.filter(|value| !value.trim().is_empty())
}

fn page<T: Serialize>(key: &str, page: ApiPage<T>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        key: page.items,
        "next_cursor": page.next_cursor,
        "has_more": page.next_cursor.is_some(),
    }))
}

pub(crate) async fn users(req: HttpRequest, caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    let (query, limit) = list_query(&req)?;
    let after = cursor(CursorKind::Users, query.cursor.as_deref())?;
    // Typed filters, when present, must parse: an empty `active` or `group` is refused
    // like any other value that is not one, never read as "no filter".
    let active = match query.active.as_deref().map(str::trim) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::bad_request("active: must be true or false")),
    };
    let group = query.group.map(|raw| id(&raw, "group")).transpose()?;
    let filter = UserFilter {
        email: given(query.email),
        user_name: given(query.user_name),
        active,
        group,
        location: given(query.location),
        product_ref: given(query.product_ref),
    };
    let result = caller.api()?.users(&filter, after, limit).await?;
    Ok(page("users", result))
}

pub(crate) async fn user(
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(&path, "id")?;
    match caller.api()?.user(id).await? {
        Some(user) => Ok(HttpResponse::Ok().json(user)),
        None => Err(ApiError::not_found("no such user")),
    }
}

pub(crate) async fn groups(req: HttpRequest, caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    let (query, limit) = list_query(&req)?;
    let after = cursor(CursorKind::Groups, query.cursor.as_deref())?;
    let result = caller.api()?.groups(after, limit).await?;
    Ok(page("groups", result))
}

pub(crate) async fn members(
    req: HttpRequest,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let group = id(&path, "id")?;
    let (query, limit) = list_query(&req)?;
    let after = cursor(CursorKind::Members, query.cursor.as_deref())?;
    match caller.api()?.members(group, after, limit).await? {
        Some(result) => Ok(page("members", result)),
        None => Err(ApiError::not_found("no such group")),
    }
}

pub(crate) async fn locations(
    req: HttpRequest,
    caller: ApiCaller,
) -> Result<HttpResponse, ApiError> {
    let (query, limit) = list_query(&req)?;
    let after = cursor(CursorKind::Locations, query.cursor.as_deref())?;
    let result = caller.api()?.locations(after, limit).await?;
    Ok(page("locations", result))
}
