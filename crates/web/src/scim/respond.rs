//! Building SCIM responses: media type, `Location`, `ETag`, conditional GETs.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use roster_core::provisioning::Resource;
use roster_scim::resource::{etag_matches, weak_etag};
use serde_json::Value;

use super::error::SCIM_JSON;

pub(crate) fn json(status: actix_web::http::StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, SCIM_JSON))
        .body(body.to_string())
}

fn location(resource: &Resource) -> Option<String> {
    resource.body["meta"]["location"]
        .as_str()
        .map(str::to_owned)
}

pub(crate) fn created(resource: &Resource) -> HttpResponse {
    let mut response = HttpResponse::Created();
    response
        .insert_header((header::CONTENT_TYPE, SCIM_JSON))
        .insert_header((header::ETAG, weak_etag(&resource.version)));
    if let Some(location) = location(resource) {
        response.insert_header((header::LOCATION, location));
    }
    response.body(resource.body.to_string())
}

/// 200 with the resource, or 304 when the client's `If-None-Match` names its version.
pub(crate) fn resource(req: &HttpRequest, resource: &Resource) -> HttpResponse {
    let etag = weak_etag(&resource.version);
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &resource.version));
    if not_modified {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, SCIM_JSON))
        .insert_header((header::ETAG, etag))
        .body(resource.body.to_string())
}

pub(crate) fn updated(resource: &Resource) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, SCIM_JSON))
        .insert_header((header::ETAG, weak_etag(&resource.version)))
        .body(resource.body.to_string())
}

pub(crate) fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
