//! `GET /api/v1/events?after=&limit=&types=`: the tenant's events in commit order.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_core::api::{
    EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT, parse_event_types, parse_events_cursor, parse_limit,
};
use serde::Deserialize;
use serde_json::json;

use super::caller::ApiCaller;
use super::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    after: Option<String>,
    limit: Option<String>,
    types: Option<String>,
}

pub(crate) async fn list(req: HttpRequest, caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<EventsQuery>::from_query(req.query_string())
        .map_err(|err| ApiError::bad_request(format!("the query string is not valid: {err}")))?;
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(raw) => parse_events_cursor(raw)?,
    };
    let limit = parse_limit(
        query.limit.as_deref(),
        EVENTS_DEFAULT_LIMIT,
        EVENTS_MAX_LIMIT,
    )?;
    let types = match query.types.as_deref() {
        None => Vec::new(),
        Some(raw) => parse_event_types(raw)?,
    };
    let page = caller.api()?.events(after, limit, &types).await?;
    Ok(HttpResponse::Ok().json(json!({
        "events": page.events,
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    })))
}
