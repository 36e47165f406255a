//! Provisioning settings (the switch, allowed actions, DELETE, deactivation and
//! existing-user behaviour, verified domains only, host assignment — each marked
//! "default" or "changed" against the operator's defaults for new tenants) and custom
//! attributes.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::rules::{
    AttributeName, AttributeType, DeactivateMode, DeleteMode, ExistingUser, NewAttribute,
    ProvisioningSettings,
};
use uuid::Uuid;

use super::auth::message_of;
use super::confirm::{ConfirmPage, removal};
use super::error::AdminError;
use super::forms::{AttributeDefinitionForm, ChoiceForm, SettingsForm, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with};
use super::session::TenantPage;
use crate::AppState;

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    l: Layout,
    sub: &'static str,
    s: ProvisioningSettings,
    /// What a new tenant starts with now (the operator's defaults).
    d: ProvisioningSettings,
    error: Option<String>,
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

impl SettingsPage {
    /// The "default" / "changed" mark of one setting, against the operator's defaults.
    fn mark(&self, field: &str) -> String {
        let (s, d) = (&self.s, &self.d);
        let (same, default) = match field {
            "enabled" => (s.enabled == d.enabled, on_off(d.enabled)),
            "create_users" => (s.create_users == d.create_users, on_off(d.create_users)),
            "update_users" => (s.update_users == d.update_users, on_off(d.update_users)),
            "deactivate_users" => (
                s.deactivate_users == d.deactivate_users,
                on_off(d.deactivate_users),
            ),
            "delete_users" => (s.delete_users == d.delete_users, on_off(d.delete_users)),
            "push_groups" => (s.push_groups == d.push_groups, on_off(d.push_groups)),
            "delete_mode" => (
                s.delete_mode == d.delete_mode,
                match d.delete_mode {
                    DeleteMode::Delete => "delete the user",
                    DeleteMode::Deactivate => "deactivate and keep",
                },
            ),
            "deactivate_mode" => (
                s.deactivate_mode == d.deactivate_mode,
                match d.deactivate_mode {
                    DeactivateMode::Keep => "keep the user inactive",
                    DeactivateMode::Delete => "delete the user",
                },
            ),
            "existing_user" => (
                s.existing_user == d.existing_user,
                match d.existing_user {
                    ExistingUser::Conflict => "refuse",
                    ExistingUser::Override => "override",
                },
            ),
            "domains_only" => (s.domains_only == d.domains_only, on_off(d.domains_only)),
            "assign_hosts" => (s.assign_hosts == d.assign_hosts, on_off(d.assign_hosts)),
            _ => (true, ""),
        };
        if same {
            format!("<span class=\"badge\" id=\"mark-{field}\">default</span>")
        } else {
            format!(
                "<span class=\"badge badge-warn\" id=\"mark-{field}\">changed (default: {default})</span>"
            )
        }
    }
}

pub(crate) async fn settings(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let rules = state.services.rules().rules(&page.scope).await?;
    let defaults = state.services.tenant_defaults().current().await?;
    ok(&SettingsPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        sub: "settings",
        s: rules.settings,
        d: defaults.settings,
        error: None,
    })
}

pub(crate) async fn save_settings(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<SettingsForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let delete_mode = DeleteMode::parse(&form.delete_mode);
    let existing_user = ExistingUser::parse(&form.existing_user);
    // A form from before "deactivate_mode" existed keeps the tenant's choice.
    let deactivate_mode = match form.deactivate_mode.as_str() {
        "" => Some(
            state
                .services
                .rules()
                .rules(&page.scope)
                .await?
                .settings
                .deactivate_mode,
        ),
        raw => DeactivateMode::parse(raw),
    };
    let mut settings = ProvisioningSettings {
        assign_hosts: form.assign_hosts(),
        ..form.switches(ProvisioningSettings::default())
    };
    let (Some(delete_mode), Some(existing_user), Some(deactivate_mode)) =
        (delete_mode, existing_user, deactivate_mode)
    else {
        // Only a hand-made form gets here: keep what was ticked, say what is missing.
        let defaults = state.services.tenant_defaults().current().await?;
        return invalid(&SettingsPage {
            l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
            sub: "settings",
            s: settings,
            d: defaults.settings,
            error: Some(
                "Choose what DELETE, a deactivation and a POST for an existing user do.".to_owned(),
            ),
        });
    };
    settings.delete_mode = delete_mode;
    settings.existing_user = existing_user;
    settings.deactivate_mode = deactivate_mode;
    state
        .services
        .rules()
        .update_settings(&page.scope, settings)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/settings", page.scope.slug()),
        Flash::SettingsSaved,
    ))
}

/// The overview's "Turn provisioning on" / "Turn provisioning off": the switch alone.
pub(crate) async fn set_provisioning(
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<ChoiceForm>,
) -> Result<HttpResponse, AdminError> {
    let enabled = match submitted.form.enabled.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(AdminError::BadRequest),
    };
    state
        .services
        .rules()
        .set_provisioning_enabled(&page.scope, enabled)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}", page.scope.slug()),
        Flash::SettingsSaved,
    ))
}

pub(crate) struct AttributeRow {
    id: String,
    name: String,
    ty: &'static str,
    multi_valued: bool,
    description: String,
}

#[derive(Template)]
#[template(path = "admin/attributes.html")]
struct AttributesPage {
    l: Layout,
    sub: &'static str,
    attributes: Vec<AttributeRow>,
    types: Vec<&'static str>,
    urn: &'static str,
    name: String,
    ty: String,
    multi_valued: bool,
    description: String,
    name_error: Option<String>,
    type_error: Option<String>,
    description_error: Option<String>,
}

struct AttributeForm {
    name: String,
    ty: String,
    multi_valued: bool,
    description: String,
    name_error: Option<String>,
    type_error: Option<String>,
    description_error: Option<String>,
}

impl AttributeForm {
    fn empty() -> Self {
        Self {
            name: String::new(),
            ty: "string".to_owned(),
            multi_valued: false,
            description: String::new(),
            name_error: None,
            type_error: None,
            description_error: None,
        }
    }
}

async fn attributes_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    form: AttributeForm,
) -> Result<AttributesPage, AdminError> {
    let rules = state.services.rules().rules(&page.scope).await?;
    Ok(AttributesPage {
        l: Layout::tenant(req, &page.session, &page.scope, "rules"),
        sub: "attributes",
        attributes: rules
            .attributes
            .iter()
            .map(|a| AttributeRow {
                id: a.id.to_string(),
                name: a.name.clone(),
                ty: a.ty.as_str(),
                multi_valued: a.multi_valued,
                description: a.description.clone(),
            })
            .collect(),
        types: AttributeType::CHOICES.iter().map(|t| t.as_str()).collect(),
        urn: roster_scim::schema::ROSTER_USER_URN,
        name: form.name,
        ty: form.ty,
        multi_valued: form.multi_valued,
        description: form.description,
        name_error: form.name_error,
        type_error: form.type_error,
        description_error: form.description_error,
    })
}

pub(crate) async fn attributes(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    ok(&attributes_page(&req, &state, &page, AttributeForm::empty()).await?)
}

pub(crate) async fn add_attribute(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<AttributeDefinitionForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let parsed = (
        AttributeName::parse(&form.name),
        AttributeType::parse(&form.ty),
        NewAttribute::parse_description(&form.description),
    );
    let mut state_form = AttributeForm {
        multi_valued: form.multi_valued(),
        name: form.name,
        ty: form.ty,
        description: form.description,
        ..AttributeForm::empty()
    };
    let (name, ty, description) = match parsed {
        (Ok(name), Ok(ty), Ok(description)) => (name, ty, description),
        (name, ty, description) => {
            state_form.name_error = name.err().map(message_of);
            state_form.type_error = ty.err().map(message_of);
            state_form.description_error = description.err().map(message_of);
            return invalid(&attributes_page(&req, &state, &page, state_form).await?);
        }
    };
    let added = state
        .services
        .rules()
        .add_attribute(
            &page.scope,
            NewAttribute {
                name,
                ty,
                multi_valued: state_form.multi_valued,
                description,
            },
        )
        .await;
    match added {
        Ok(()) => Ok(redirect_with(
            &format!("/admin/t/{}/attributes", page.scope.slug()),
            Flash::AttributeAdded,
        )),
        Err(err @ roster_core::Error::Invalid { .. }) => {
            state_form.name_error = Some(message_of(err));
            invalid(&attributes_page(&req, &state, &page, state_form).await?)
        }
        Err(err) => Err(err.into()),
    }
}

/// A path id: not a UUID names nothing (404).
pub(crate) fn parse_path_id(raw: &str) -> Result<Uuid, AdminError> {
    Uuid::parse_str(raw).map_err(|_| AdminError::NotFound)
}

pub(crate) async fn confirm_remove_attribute(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let rules = state.services.rules().rules(&page.scope).await?;
    let attribute = rules
        .attributes
        .iter()
        .find(|a| a.id == id)
        .ok_or(AdminError::NotFound)?;
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: format!("Remove the attribute {}?", attribute.name),
        message: "It disappears from this tenant's SCIM schema: Okta can no longer send it, and \
                  users' values are no longer shown or sent. The stored values are kept; adding \
                  the attribute again brings them back."
            .to_owned(),
        action: format!("/admin/t/{slug}/attributes/{id}/remove"),
        button: "Remove attribute",
        cancel: format!("/admin/t/{slug}/attributes"),
    })
}

removal!(
    /// Removing a custom attribute.
    AttributeRemoval,
    "attributes",
    AttributeRemoved,
    remove_attribute
);
