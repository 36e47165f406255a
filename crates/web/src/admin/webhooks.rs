//! Webhook endpoints of a tenant: list with delivery counts, create (the signing secret
//! is shown once, in the answer to the POST), the endpoint page (edit, rotate the secret
//! with confirmation, send a test event, delete with confirmation) and its recent
//! deliveries (filter by status, keyset paging, redeliver).
//!
//! Query-string values that do not parse (a hand-edited cursor, an unknown status) are
//! ignored, as on the directory pages; another tenant's ids are 404.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::delivery::webhooks::{
    Delivery, DeliveryCounts, DeliveryStatus, EndpointForm, EndpointId, ROTATION_OVERLAP,
    TestOutcome, WebhookEndpoint,
};
use roster_core::outbox::EventType;
use roster_core::paging::PageSize;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::auth::message_of;
use super::confirm::ConfirmPage;
use super::error::AdminError;
use super::forms::{CsrfOnly, Pairs, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with, when, when_opt};
use super::session::TenantPage;
use super::settings::parse_path_id;
use crate::AppState;

/// One endpoint as the list shows it.
pub(crate) struct EndpointRow {
    id: String,
    url: String,
    description: String,
    /// Empty = all events.
    event_types: Vec<String>,
    enabled: bool,
    pending: u64,
    delivered: u64,
    failed: u64,
}

impl EndpointRow {
    fn new(endpoint: WebhookEndpoint, counts: DeliveryCounts) -> Self {
        Self {
            id: endpoint.id.0.to_string(),
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint.event_types.unwrap_or_default(),
            enabled: endpoint.enabled,
            pending: counts.pending,
            delivered: counts.delivered,
            failed: counts.failed,
        }
    }
}

/// The values of the endpoint form (create and edit), with an inline error per field.
pub(crate) struct EndpointFields {
    url: String,
    description: String,
    all_events: bool,
    /// Every event type, and whether it is ticked.
    choices: Vec<(&'static str, bool)>,
    enabled: bool,
    url_error: Option<String>,
    description_error: Option<String>,
    events_error: Option<String>,
}

impl EndpointFields {
    fn empty() -> Self {
        Self {
            url: String::new(),
            description: String::new(),
            all_events: true,
            choices: EventType::ALL.iter().map(|t| (t.as_str(), false)).collect(),
            enabled: true,
            url_error: None,
            description_error: None,
            events_error: None,
        }
    }

    fn of(endpoint: &WebhookEndpoint) -> Self {
        let chosen = endpoint.event_types.clone().unwrap_or_default();
        Self {
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            all_events: endpoint.event_types.is_none(),
            choices: EventType::ALL
                .iter()
                .map(|t| (t.as_str(), chosen.iter().any(|c| c == t.as_str())))
                .collect(),
            enabled: endpoint.enabled,
            ..Self::empty()
        }
    }

    /// The form as sent, and the checked [`EndpointForm`] or the fields with the error.
    fn submitted(form: &Pairs) -> (Self, Result<EndpointForm, roster_core::Error>) {
        let chosen: Vec<String> = form.all("event_types").map(str::to_owned).collect();
        let all_events = form.get("events") != "some";
        let fields = Self {
            url: form.get("url").to_owned(),
            description: form.get("description").to_owned(),
            all_events,
            choices: EventType::ALL
                .iter()
                .map(|t| (t.as_str(), chosen.iter().any(|c| c == t.as_str())))
                .collect(),
            enabled: form.checked("enabled"),
            ..Self::empty()
        };
        let parsed = if !all_events && chosen.iter().all(|c| c.trim().is_empty()) {
            Err(roster_core::Error::invalid(
                "event_types",
                "choose at least one event type, or all events",
            ))
        } else {
            let types: &[String] = if all_events { &[] } else { &chosen };
            EndpointForm::parse(&fields.url, &fields.description, types, fields.enabled)
        };
        (fields, parsed)
    }

    /// Puts an `Invalid` error next to its field; any other error is returned.
    fn with_error(mut self, err: roster_core::Error) -> Result<Self, AdminError> {
        let field = match &err {
            roster_core::Error::Invalid { field, .. } => field.to_string(),
            _ => return Err(err.into()),
        };
        let message = Some(message_of(err));
        match field.as_str() {
            "description" => self.description_error = message,
            "event_types" => self.events_error = message,
            _ => self.url_error = message,
        }
        Ok(self)
    }
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct ListPage {
    l: Layout,
    endpoints: Vec<EndpointRow>,
    form: EndpointFields,
}

async fn list_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    form: EndpointFields,
) -> Result<ListPage, AdminError> {
    let webhooks = state.services.webhooks();
    let mut endpoints = Vec::new();
    // At most 20 endpoints per tenant: one count query each is fine.
    for endpoint in webhooks.list(&page.scope).await? {
        let counts = webhooks.counts(&page.scope, endpoint.id).await?;
        endpoints.push(EndpointRow::new(endpoint, counts));
    }
    Ok(ListPage {
        l: Layout::tenant(req, &page.session, &page.scope, "webhooks"),
        endpoints,
        form,
    })
}

pub(crate) async fn list(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    ok(&list_page(&req, &state, &page, EndpointFields::empty()).await?)
}

#[derive(Template)]
#[template(path = "admin/webhook_secret.html")]
struct SecretPage<'a> {
    l: Layout,
    id: String,
    url: String,
    secret: &'a str,
    /// Rotated (rather than created): until when the previous secret still signs.
    previous_until: Option<String>,
    overlap_hours: u64,
}

/// The secret, shown once: no cache may keep the answer.
fn secret_page(
    l: Layout,
    endpoint: &WebhookEndpoint,
    secret: &SecretString,
) -> Result<HttpResponse, AdminError> {
    let mut response = ok(&SecretPage {
        l,
        id: endpoint.id.0.to_string(),
        url: endpoint.url.clone(),
        secret: secret.expose_secret(),
        previous_until: endpoint.previous_secret_until.map(when),
        overlap_hours: ROTATION_OVERLAP.as_secs() / 3600,
    })?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub(crate) async fn create(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let (fields, parsed) = EndpointFields::submitted(&submitted.form);
    let created = match parsed {
        Ok(form) => state.services.webhooks().create(&page.scope, form).await,
        Err(err) => Err(err),
    };
    match created {
        Ok((endpoint, secret)) => secret_page(
            Layout::tenant(&req, &page.session, &page.scope, "webhooks"),
            &endpoint,
            &secret,
        ),
        Err(err) => {
            let fields = fields.with_error(err)?;
            invalid(&list_page(&req, &state, &page, fields).await?)
        }
    }
}

/// One delivery as the endpoint page lists it.
pub(crate) struct DeliveryRow {
    id: i64,
    time: String,
    event_type: String,
    event_id: String,
    status: &'static str,
    code: String,
    attempts: i32,
    next_retry: String,
    last_error: String,
    can_redeliver: bool,
}

impl From<Delivery> for DeliveryRow {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            time: when(d.created_at),
            event_type: d.event_type,
            event_id: d.event_id.to_string(),
            status: d.status.as_str(),
            code: d
                .last_status_code
                .map_or_else(|| "—".to_owned(), |c| c.to_string()),
            attempts: d.attempts,
            next_retry: when_opt(d.next_attempt_at, ""),
            last_error: d.last_error.unwrap_or_default(),
            can_redeliver: d.status != DeliveryStatus::Pending,
        }
    }
}

/// What a test event got back, as shown on the endpoint page.
pub(crate) struct TestRow {
    ok: bool,
    text: String,
}

impl From<TestOutcome> for TestRow {
    fn from(outcome: TestOutcome) -> Self {
        let code = outcome
            .status_code
            .map(|c| format!("HTTP {c}"))
            .unwrap_or_default();
        match outcome.error {
            None => Self {
                ok: true,
                text: format!("The endpoint accepted the test event: {code}."),
            },
            Some(error) => Self {
                ok: false,
                text: format!("The test event was not accepted: {error}."),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct EndpointPage {
    l: Layout,
    id: String,
    url: String,
    secret_hint: String,
    previous_until: Option<String>,
    form: EndpointFields,
    counts: DeliveryCounts,
    test: Option<TestRow>,
    /// `""` (all), `pending`, `delivered` or `failed`.
    status: &'static str,
    deliveries: Vec<DeliveryRow>,
    next: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct DeliveriesQuery {
    status: Option<String>,
    before: Option<String>,
}

pub(crate) async fn find_endpoint(
    state: &AppState,
    page: &TenantPage,
    raw_id: &str,
) -> Result<WebhookEndpoint, AdminError> {
    let id = EndpointId(parse_path_id(raw_id)?);
    Ok(state.services.webhooks().find(&page.scope, id).await?)
}

async fn endpoint_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    endpoint: WebhookEndpoint,
    form: Option<EndpointFields>,
    test: Option<TestRow>,
    query: Option<&DeliveriesQuery>,
) -> Result<EndpointPage, AdminError> {
    let status = query
        .and_then(|q| q.status.as_deref())
        .and_then(DeliveryStatus::parse);
    let before = query
        .and_then(|q| q.before.as_deref())
        .and_then(|raw| raw.parse::<i64>().ok());
    let webhooks = state.services.webhooks();
    let deliveries = webhooks
        .deliveries(&page.scope, endpoint.id, status, before, PageSize::DEFAULT)
        .await?;
    let counts = webhooks.counts(&page.scope, endpoint.id).await?;
    Ok(EndpointPage {
        l: Layout::tenant(req, &page.session, &page.scope, "webhooks"),
        id: endpoint.id.0.to_string(),
        form: form.unwrap_or_else(|| EndpointFields::of(&endpoint)),
        url: endpoint.url,
        secret_hint: endpoint.secret_hint,
        previous_until: endpoint.previous_secret_until.map(when),
        counts,
        test,
        status: status.map_or("", DeliveryStatus::as_str),
        deliveries: deliveries
            .items
            .into_iter()
            .map(DeliveryRow::from)
            .collect(),
        next: deliveries.next,
    })
}

pub(crate) async fn show(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    ok(&endpoint_page(&req, &state, &page, endpoint, None, None, Some(&query)).await?)
}

pub(crate) fn to_endpoint(page: &TenantPage, id: EndpointId, flash: Flash) -> HttpResponse {
    redirect_with(
        &format!("/admin/t/{}/webhooks/{}", page.scope.slug(), id.0),
        flash,
    )
}

pub(crate) async fn update(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let (fields, parsed) = EndpointFields::submitted(&submitted.form);
    let updated = match parsed {
        Ok(form) => {
            state
                .services
                .webhooks()
                .update(&page.scope, endpoint.id, form)
                .await
        }
        Err(err) => Err(err),
    };
    match updated {
        Ok(endpoint) => Ok(to_endpoint(&page, endpoint.id, Flash::WebhookSaved)),
        Err(err) => {
            let fields = fields.with_error(err)?;
            let body =
                endpoint_page(&req, &state, &page, endpoint, Some(fields), None, None).await?;
            invalid(&body)
        }
    }
}

pub(crate) async fn send_test(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let outcome = state
        .services
        .webhooks()
        .send_test(&page.scope, endpoint.id)
        .await?;
    let body = endpoint_page(
        &req,
        &state,
        &page,
        endpoint,
        None,
        Some(outcome.into()),
        None,
    )
    .await?;
    ok(&body)
}

pub(crate) async fn confirm_rotate(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let slug = page.scope.slug().to_string();
    let id = endpoint.id.0;
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "webhooks"),
        title: format!("Rotate the signing secret of {}?", endpoint.url),
        message: format!(
            "A new secret is made and shown once. For the next {} hours every delivery is \
             signed with both the new and the current secret ({}), so the receiver can switch \
             over without missing events; after that only the new secret signs.",
            ROTATION_OVERLAP.as_secs() / 3600,
            endpoint.secret_hint
        ),
        action: format!("/admin/t/{slug}/webhooks/{id}/rotate"),
        button: "Rotate secret",
        cancel: format!("/admin/t/{slug}/webhooks/{id}"),
    })
}

pub(crate) async fn rotate(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let (endpoint, secret) = state
        .services
        .webhooks()
        .rotate_secret(&page.scope, endpoint.id)
        .await?;
    secret_page(
        Layout::tenant(&req, &page.session, &page.scope, "webhooks"),
        &endpoint,
        &secret,
    )
}

pub(crate) async fn confirm_delete(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let slug = page.scope.slug().to_string();
    let id = endpoint.id.0;
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "webhooks"),
        title: format!("Delete the endpoint {}?", endpoint.url),
        message: "No more events are sent to it, and its delivery history is deleted with \
                  it. Pending deliveries are dropped. This cannot be undone."
            .to_owned(),
        action: format!("/admin/t/{slug}/webhooks/{id}/delete"),
        button: "Delete endpoint",
        cancel: format!("/admin/t/{slug}/webhooks/{id}"),
    })
}

pub(crate) async fn delete(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    state
        .services
        .webhooks()
        .delete(&page.scope, endpoint.id)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/webhooks", page.scope.slug()),
        Flash::WebhookDeleted,
    ))
}

pub(crate) async fn redeliver(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let endpoint = find_endpoint(&state, &page, &path.1).await?;
    let delivery = path.2.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    state
        .services
        .webhooks()
        .redeliver(&page.scope, endpoint.id, delivery)
        .await?;
    Ok(to_endpoint(&page, endpoint.id, Flash::DeliveryQueued))
}
