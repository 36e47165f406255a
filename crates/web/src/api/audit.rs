//! `GET /api/v1/audit?after=&limit=`: the tenant's audit log, oldest first, paged
//! forward like the events feed (keep `next_cursor`, pass it back as `after`).

use actix_web::{HttpRequest, HttpResponse, web};
use roster_core::api::{CursorKind, encode_cursor, parse_audit_cursor, parse_limit};
use serde::Deserialize;
use serde_json::json;

use super::caller::ApiCaller;
use super::error::ApiError;

/// Entries per page by default, and at most.
const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    after: Option<String>,
    limit: Option<String>,
}

pub(crate) async fn list(req: HttpRequest, caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<AuditQuery>::from_query(req.query_string())
        .map_err(|err| ApiError::bad_request(format!("the query string is not valid: {err}")))?;
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(raw) => parse_audit_cursor(raw)?,
    };
    let limit = parse_limit(query.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let entries = caller.audit(after, limit).await?;
    let last = entries.last().map_or(after, |e| e.id);
    let has_more = entries.len() as u64 == limit;
    let entries: Vec<_> = entries
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id.to_string(),
                "occurred_at": e.occurred_at.to_rfc3339(),
                "actor": { "kind": e.actor_kind, "name": e.actor_name },
                "action": e.action,
                "target": e.target_kind.as_ref().map(|kind| json!({
                    "kind": kind,
                    "id": e.target_id,
                    "name": e.target_name,
                })),
                "before": e.before,
                "after": e.after,
                "request_id": e.request_id,
                "client_address": e.client_address,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "entries": entries,
        "next_cursor": encode_cursor(CursorKind::Audit, &last.to_string()),
        "has_more": has_more,
    })))
}
