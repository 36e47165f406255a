//! An endpoint's deliveries beyond the list: the payload of one delivery's event, as it
//! is POSTed (pretty-printed), and sending every failed delivery again at once.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::AdminError;
use super::forms::{CsrfOnly, Submitted};
use super::page::{Flash, Layout, ok};
use super::session::TenantPage;
use super::webhooks::{find_endpoint, to_endpoint};
use crate::AppState;

#[derive(Template)]
#[template(path = "admin/webhook_payload.html")]
struct PayloadPage {
    l: Layout,
    endpoint_id: String,
    url: String,
    delivery: i64,
    /// The body, indented for reading (the bytes sent are the compact form).
    payload: String,
}

pub(crate) async fn payload(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let delivery = path.2.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    let body = state
        .services
        .webhooks()
        .delivery_payload(&page.scope, endpoint.id, delivery)
        .await?;
    let payload = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or(body);
    ok(&PayloadPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "webhooks"),
        endpoint_id: endpoint.id.0.to_string(),
        url: endpoint.url,
        delivery,
        payload,
    })
}

pub(crate) async fn redeliver_failed(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let queued = state
        .services
        .webhooks()
        .redeliver_failed(&page.scope, endpoint.id)
        .await?;
    let flash = if queued > 0 {
        Flash::FailedQueued
    } else {
        Flash::NothingToRedeliver
    };
    Ok(to_endpoint(&page, endpoint.id, flash))
}
