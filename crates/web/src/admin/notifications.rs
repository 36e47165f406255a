//! Default notification settings: the catalogue (types × channels) with a default per
//! cell, re-applying the defaults to every user, and one user's settings.

use std::collections::BTreeSet;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::rules::{
    Channel, NotificationKey, NotificationLabel, NotificationMatrix, NotificationRow,
    NotificationType,
};
use serde::Deserialize;

use super::auth::message_of;
use super::confirm::{ConfirmPage, removal};
use super::error::AdminError;
use super::forms::{CsrfOnly, Pairs, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with, request_id_of};
use super::session::TenantPage;
use super::settings::parse_path_id;
use crate::AppState;

/// One row of the grid: a type and, per channel, the field name and whether it is on.
pub(crate) struct GridRow {
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) cells: Vec<Cell>,
}

/// One checkbox of a grid: its form field, and the channel's name for people (the
/// checkbox's accessible name is "<type>: <channel>", never the field name).
pub(crate) struct Cell {
    pub(crate) name: String,
    pub(crate) channel: &'static str,
    pub(crate) on: bool,
}

fn cell(prefix: &str, key: &str, channel: Channel, on: bool) -> Cell {
    Cell {
        name: cell_name(prefix, key, channel),
        channel: channel.label(),
        on,
    }
}

fn cell_name(prefix: &str, key: &str, channel: Channel) -> String {
    format!("{prefix}:{key}:{}", channel.as_str())
}

fn grid(
    catalogue: &[NotificationType],
    prefix: &str,
    on: impl Fn(&NotificationType, Channel) -> bool,
) -> Vec<GridRow> {
    catalogue
        .iter()
        .map(|t| GridRow {
            id: t.id.to_string(),
            key: t.key.clone(),
            label: t.label.clone(),
            cells: Channel::ALL
                .into_iter()
                .map(|c| cell(prefix, &t.key, c, on(t, c)))
                .collect(),
        })
        .collect()
}

/// The channels ticked for one type in a grid form.
fn ticked(form: &Pairs, prefix: &str, key: &str) -> BTreeSet<Channel> {
    Channel::ALL
        .into_iter()
        .filter(|c| form.checked(&cell_name(prefix, key, *c)))
        .collect()
}

#[derive(Template)]
#[template(path = "admin/notifications.html")]
struct NotificationsPage {
    l: Layout,
    sub: &'static str,
    channels: Vec<&'static str>,
    rows: Vec<GridRow>,
    changed: Option<u64>,
    key: String,
    label: String,
    key_error: Option<String>,
    label_error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ChangedQuery {
    changed: Option<String>,
}

async fn notifications_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    changed: Option<u64>,
    (key, label, key_error, label_error): (String, String, Option<String>, Option<String>),
) -> Result<NotificationsPage, AdminError> {
    let rules = state.services.rules().rules(&page.scope).await?;
    Ok(NotificationsPage {
        l: Layout::tenant(req, &page.session, &page.scope, "rules"),
        sub: "notifications",
        channels: Channel::ALL.iter().map(|c| c.label()).collect(),
        rows: grid(&rules.catalogue, "d", |t, c| t.defaults.contains(&c)),
        changed,
        key,
        label,
        key_error,
        label_error,
    })
}

pub(crate) async fn catalogue(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    query: web::Query<ChangedQuery>,
) -> Result<HttpResponse, AdminError> {
    // The outcome of "re-apply defaults", carried by the redirect as a plain number.
    let changed = query.changed.as_deref().and_then(|raw| raw.parse().ok());
    let empty = (String::new(), String::new(), None, None);
    ok(&notifications_page(&req, &state, &page, changed, empty).await?)
}

pub(crate) async fn add_type(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let (raw_key, raw_label) = (form.get("key").to_owned(), form.get("label").to_owned());
    let result = match (
        NotificationKey::parse(&raw_key),
        NotificationLabel::parse(&raw_label),
    ) {
        (Ok(key), Ok(label)) => state
            .services
            .rules()
            .add_notification_type(&page.scope, key, label, ticked(&form, "n", "new"))
            .await
            .map_err(|err| (Some(err), None)),
        (key, label) => Err((key.err(), label.err())),
    };
    match result {
        Ok(()) => Ok(redirect_with(
            &format!("/admin/t/{}/notifications", page.scope.slug()),
            Flash::NotificationTypeAdded,
        )),
        Err((key_err, label_err)) => {
            let unexpected = [&key_err, &label_err]
                .into_iter()
                .flatten()
                .any(|e| !matches!(e, roster_core::Error::Invalid { .. }));
            if unexpected {
                return Err(key_err
                    .or(label_err)
                    .map_or(AdminError::Internal, Into::into));
            }
            let form = (
                raw_key,
                raw_label,
                key_err.map(message_of),
                label_err.map(message_of),
            );
            invalid(&notifications_page(&req, &state, &page, None, form).await?)
        }
    }
}

pub(crate) async fn save_defaults(
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let rules = state.services.rules().rules(&page.scope).await?;
    let grid = rules
        .catalogue
        .iter()
        .map(|t| (t.id, ticked(&form, "d", &t.key)))
        .collect();
    state
        .services
        .rules()
        .set_notification_defaults(&page.scope, grid)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/notifications", page.scope.slug()),
        Flash::DefaultsSaved,
    ))
}

pub(crate) async fn confirm_remove_type(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let rules = state.services.rules().rules(&page.scope).await?;
    let kind = rules
        .catalogue
        .iter()
        .find(|t| t.id == id)
        .ok_or(AdminError::NotFound)?;
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: format!("Remove “{}”?", kind.label),
        message: format!(
            "The type {} leaves the catalogue: it is no longer shown in users' settings in \
             SCIM or in events, and new users do not get it.",
            kind.key
        ),
        action: format!("/admin/t/{slug}/notifications/{id}/remove"),
        button: "Remove notification type",
        cancel: format!("/admin/t/{slug}/notifications"),
    })
}

removal!(
    /// Removing a notification type from the catalogue.
    NotificationTypeRemoval,
    "notifications",
    NotificationTypeRemoved,
    remove_notification_type
);

pub(crate) async fn confirm_reapply(
    req: HttpRequest,
    page: TenantPage,
) -> Result<HttpResponse, AdminError> {
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: "Re-apply the defaults to every user?".to_owned(),
        message: "Every user's notification settings become the current defaults, including \
                  settings changed by hand. Each changed user gets a new version and a \
                  user.updated event."
            .to_owned(),
        action: format!("/admin/t/{slug}/notifications/reapply"),
        button: "Re-apply defaults",
        cancel: format!("/admin/t/{slug}/notifications"),
    })
}

pub(crate) async fn reapply(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let outcome = state
        .services
        .provisioning()
        .reapply_notification_defaults(&page.scope, &request_id_of(&req))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!(
                "/admin/t/{}/notifications?changed={}",
                page.scope.slug(),
                outcome.changed
            ),
        ))
        .finish())
}

/// One user's settings, from the grid on the user's page.
pub(crate) async fn save_user(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let form = submitted.form;
    let rules = state.services.rules().rules(&page.scope).await?;
    let mut settings = NotificationMatrix::default();
    for kind in &rules.catalogue {
        settings.set(&kind.key, ticked(&form, "u", &kind.key));
    }
    state
        .services
        .provisioning()
        .set_user_notifications(&page.scope, &request_id_of(&req), id, &settings)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/users/{id}", page.scope.slug()),
        Flash::UserNotificationsSaved,
    ))
}

/// The grid of one user's settings, for the user's page.
pub(crate) fn user_grid(rows: &[NotificationRow]) -> Vec<GridRow> {
    rows.iter()
        .map(|row| GridRow {
            id: String::new(),
            key: row.key.clone(),
            label: row.label.clone(),
            cells: row
                .cells
                .iter()
                .map(|(channel, on)| cell("u", &row.key, *channel, *on))
                .collect(),
        })
        .collect()
}
