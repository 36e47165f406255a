//! Locations with their kiosks, and the mapping rules that make users hosts, with the
//! "test a user" preview.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::rules::{
    KioskName, LocationCode, LocationName, MatchKind, MatchValues, NewRule, RulePath, SampleUser,
    TimeZoneName,
};
use uuid::Uuid;

use super::auth::message_of;
use super::confirm::{ConfirmPage, removal};
use super::error::AdminError;
use super::forms::{ChoiceForm, KioskForm, Pairs, PlaceForm, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with};
use super::session::TenantPage;
use super::settings::parse_path_id;
use crate::AppState;

pub(crate) struct KioskRow {
    id: String,
    name: String,
}

pub(crate) struct LocationRow {
    id: String,
    name: String,
    code: String,
    time_zone: String,
    kiosks: Vec<KioskRow>,
}

#[derive(Template)]
#[template(path = "admin/locations.html")]
struct LocationsPage {
    l: Layout,
    sub: &'static str,
    locations: Vec<LocationRow>,
    name: String,
    code: String,
    time_zone: String,
    name_error: Option<String>,
    code_error: Option<String>,
    time_zone_error: Option<String>,
    /// A kiosk form sent back with its error: (location id, name, error).
    kiosk_error: Option<(String, String, String)>,
    /// The re-evaluation of users' hosts: running, or the last one.
    rehost: Option<String>,
}

#[derive(Default)]
struct LocationForm {
    name: String,
    code: String,
    time_zone: String,
    name_error: Option<String>,
    code_error: Option<String>,
    time_zone_error: Option<String>,
    kiosk_error: Option<(String, String, String)>,
}

async fn locations_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    form: LocationForm,
) -> Result<LocationsPage, AdminError> {
    let rules = state.services.rules().rules(&page.scope).await?;
    Ok(LocationsPage {
        l: Layout::tenant(req, &page.session, &page.scope, "rules"),
        sub: "locations",
        locations: rules
            .locations
            .iter()
            .map(|l| LocationRow {
                id: l.id.to_string(),
                name: l.name.clone(),
                code: l.code.clone(),
                time_zone: l.time_zone.clone(),
                kiosks: l
                    .kiosks
                    .iter()
                    .map(|k| KioskRow {
                        id: k.id.to_string(),
                        name: k.name.clone(),
                    })
                    .collect(),
            })
            .collect(),
        name: form.name,
        code: form.code,
        time_zone: if form.time_zone.is_empty() {
            "UTC".to_owned()
        } else {
            form.time_zone
        },
        name_error: form.name_error,
        code_error: form.code_error,
        time_zone_error: form.time_zone_error,
        kiosk_error: form.kiosk_error,
        rehost: super::rehost::status(state, &page.scope).await?,
    })
}

fn invalid_only(err: roster_core::Error) -> Result<String, AdminError> {
    match err {
        err @ roster_core::Error::Invalid { .. } => Ok(message_of(err)),
        err => Err(err.into()),
    }
}

pub(crate) async fn locations(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    ok(&locations_page(&req, &state, &page, LocationForm::default()).await?)
}

pub(crate) async fn add_location(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<PlaceForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let mut kept = LocationForm {
        name: form.name,
        code: form.code,
        time_zone: form.time_zone,
        ..LocationForm::default()
    };
    let parsed = (
        LocationName::parse(&kept.name),
        LocationCode::parse(&kept.code),
        TimeZoneName::parse(&kept.time_zone),
    );
    let result = match parsed {
        (Ok(name), Ok(code), Ok(tz)) => state
            .services
            .rules()
            .add_location(&page.scope, name, code, tz)
            .await
            .map(|_| ()),
        (name, code, tz) => {
            kept.name_error = name.err().map(message_of);
            kept.code_error = code.err().map(message_of);
            kept.time_zone_error = tz.err().map(message_of);
            return invalid(&locations_page(&req, &state, &page, kept).await?);
        }
    };
    match result {
        Ok(()) => Ok(redirect_with(
            &format!("/admin/t/{}/locations", page.scope.slug()),
            Flash::LocationAdded,
        )),
        Err(err) => {
            kept.code_error = Some(invalid_only(err)?);
            invalid(&locations_page(&req, &state, &page, kept).await?)
        }
    }
}

pub(crate) async fn add_kiosk(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    submitted: Submitted<KioskForm>,
) -> Result<HttpResponse, AdminError> {
    let location = parse_path_id(&path.1)?;
    let raw = submitted.form.kiosk;
    let result = match KioskName::parse(&raw) {
        Ok(name) => {
            state
                .services
                .rules()
                .add_kiosk(&page.scope, location, name)
                .await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => Ok(redirect_with(
            &format!("/admin/t/{}/locations", page.scope.slug()),
            Flash::KioskAdded,
        )),
        Err(err) => {
            let message = invalid_only(err)?;
            let form = LocationForm {
                kiosk_error: Some((location.to_string(), raw, message)),
                ..LocationForm::default()
            };
            invalid(&locations_page(&req, &state, &page, form).await?)
        }
    }
}

pub(crate) async fn confirm_remove_location(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let rules = state.services.rules().rules(&page.scope).await?;
    let location = rules.location(id).ok_or(AdminError::NotFound)?;
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: format!("Remove {} ({})?", location.name, location.code),
        message: format!(
            "The location and its {} kiosk(s) are removed. Mapping rules no longer assign them; \
             users assigned to them are hosts there no more, and each of them gets a \
             user.updated event (a large tenant's users in the background).",
            location.kiosks.len()
        ),
        action: format!("/admin/t/{slug}/locations/{id}/remove"),
        button: "Remove location",
        cancel: format!("/admin/t/{slug}/locations"),
    })
}

removal!(
    /// Removing a location with its kiosks.
    LocationRemoval,
    "locations",
    LocationRemoved,
    remove_location
);

pub(crate) async fn confirm_remove_kiosk(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let rules = state.services.rules().rules(&page.scope).await?;
    let (location, kiosk) = rules.kiosk(id).ok_or(AdminError::NotFound)?;
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: format!("Remove the kiosk {} of {}?", kiosk.name, location.name),
        message: "Mapping rules no longer assign it; users who were hosts there are hosts there \
                  no more, and each of them gets a user.updated event."
            .to_owned(),
        action: format!("/admin/t/{slug}/kiosks/{id}/remove"),
        button: "Remove kiosk",
        cancel: format!("/admin/t/{slug}/locations"),
    })
}

removal!(
    /// Removing a kiosk.
    KioskRemoval,
    "locations",
    KioskRemoved,
    remove_kiosk
);

// -- Mapping rules ----------------------------------------------------------------------

pub(crate) struct RuleRow {
    id: String,
    position: usize,
    text: String,
    targets: String,
    first: bool,
    last: bool,
}

pub(crate) struct Target {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "admin/rules.html")]
pub(super) struct RulesPage {
    l: Layout,
    sub: &'static str,
    assign_hosts: bool,
    rules: Vec<RuleRow>,
    locations: Vec<Target>,
    kiosks: Vec<Target>,
    kinds: Vec<(&'static str, &'static str)>,
    attribute: String,
    kind: String,
    values: String,
    attribute_error: Option<String>,
    kind_error: Option<String>,
    values_error: Option<String>,
    targets_error: Option<String>,
    /// "Test a user": one field per attribute the rules use, with the sample's value.
    sample: Vec<super::rule_test::SampleField>,
    /// The preview's answer, when a sample was tested.
    preview: Option<super::rule_test::PreviewView>,
    /// The re-evaluation of users' hosts: running, or the last one.
    rehost: Option<String>,
}

#[derive(Default)]
pub(super) struct RuleForm {
    attribute: String,
    kind: String,
    values: String,
    locations: Vec<String>,
    kiosks: Vec<String>,
    attribute_error: Option<String>,
    kind_error: Option<String>,
    values_error: Option<String>,
    targets_error: Option<String>,
}

pub(super) async fn rules_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    form: RuleForm,
    test: Option<SampleUser>,
) -> Result<RulesPage, AdminError> {
    let service = state.services.rules();
    let rules = service.rules(&page.scope).await?;
    let count = rules.mapping.len();
    let name_of = |id: &Uuid| {
        rules.location(*id).map(|l| l.name.clone()).or_else(|| {
            rules
                .kiosk(*id)
                .map(|(l, k)| format!("{} ({})", k.name, l.name))
        })
    };
    let preview = match &test {
        Some(sample) => Some(super::rule_test::PreviewView::from(
            service.preview_user(&page.scope, sample).await?,
        )),
        None => None,
    };
    let sample = super::rule_test::fields(&rules.mapping, test.as_ref());
    Ok(RulesPage {
        l: Layout::tenant(req, &page.session, &page.scope, "rules"),
        sub: "rules",
        assign_hosts: rules.settings.assign_hosts,
        rules: rules
            .mapping
            .iter()
            .enumerate()
            .map(|(i, r)| RuleRow {
                id: r.id.to_string(),
                position: i + 1,
                text: r.describe(),
                targets: r
                    .locations
                    .iter()
                    .chain(&r.kiosks)
                    .filter_map(name_of)
                    .collect::<Vec<_>>()
                    .join(", "),
                first: i == 0,
                last: i + 1 == count,
            })
            .collect(),
        locations: rules
            .locations
            .iter()
            .map(|l| Target {
                checked: form.locations.contains(&l.id.to_string()),
                value: l.id.to_string(),
                label: format!("{} ({})", l.name, l.code),
            })
            .collect(),
        kiosks: rules
            .locations
            .iter()
            .flat_map(|l| l.kiosks.iter().map(move |k| (l, k)))
            .map(|(l, k)| Target {
                checked: form.kiosks.contains(&k.id.to_string()),
                value: k.id.to_string(),
                label: format!("{} ({})", k.name, l.name),
            })
            .collect(),
        kinds: MatchKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        attribute: form.attribute,
        kind: form.kind,
        values: form.values,
        attribute_error: form.attribute_error,
        kind_error: form.kind_error,
        values_error: form.values_error,
        targets_error: form.targets_error,
        sample,
        preview,
        rehost: super::rehost::status(state, &page.scope).await?,
    })
}

pub(crate) async fn rules(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    ok(&rules_page(&req, &state, &page, RuleForm::default(), None).await?)
}

fn ids(values: &[String]) -> Vec<Uuid> {
    values
        .iter()
        .filter_map(|v| Uuid::parse_str(v).ok())
        .collect()
}

pub(crate) async fn add_rule(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let mut kept = RuleForm {
        attribute: form.get("attribute").to_owned(),
        kind: form.get("match").to_owned(),
        values: form.get("values").to_owned(),
        locations: form.all("location").map(str::to_owned).collect(),
        kiosks: form.all("kiosk").map(str::to_owned).collect(),
        ..RuleForm::default()
    };
    let service = state.services.rules();
    let registry = service.rules(&page.scope).await?.registry.clone();
    let kind = MatchKind::parse(&kept.kind);
    let parsed = (
        RulePath::parse(&kept.attribute, registry.user()),
        kind.as_ref()
            .map_err(|_| ())
            .and_then(|k| MatchValues::parse(&kept.values, *k).map_err(|_| ())),
    );
    let (path, values, kind) = match (parsed, kind) {
        ((Ok(path), Ok(values)), Ok(kind)) => (path, values, kind),
        ((path, _), kind) => {
            kept.attribute_error = path.err().map(message_of);
            kept.kind_error = kind
                .as_ref()
                .err()
                .map(|_| "Choose how to match.".to_owned());
            if let Ok(kind) = kind {
                kept.values_error = MatchValues::parse(&kept.values, kind).err().map(message_of);
            }
            return invalid(&rules_page(&req, &state, &page, kept, None).await?);
        }
    };
    let rule = NewRule {
        path,
        kind,
        values,
        locations: ids(&kept.locations),
        kiosks: ids(&kept.kiosks),
    };
    match service.add_rule(&page.scope, rule).await {
        Ok(_) => Ok(redirect_with(
            &format!("/admin/t/{}/rules", page.scope.slug()),
            Flash::RuleAdded,
        )),
        Err(err) => {
            kept.targets_error = Some(invalid_only(err)?);
            invalid(&rules_page(&req, &state, &page, kept, None).await?)
        }
    }
}

pub(crate) async fn move_rule(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    submitted: Submitted<ChoiceForm>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let up = submitted.form.direction == "up";
    state
        .services
        .rules()
        .move_rule(&page.scope, id, up)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/rules", page.scope.slug()),
        Flash::RuleMoved,
    ))
}

pub(crate) async fn confirm_remove_rule(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let rules = state.services.rules().rules(&page.scope).await?;
    let rule = rules
        .mapping
        .iter()
        .find(|r| r.id == id)
        .ok_or(AdminError::NotFound)?;
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: "Remove this mapping rule?".to_owned(),
        message: format!(
            "{} — the users it matched are evaluated again: the next rule that matches decides, \
             or they become hosts nowhere.",
            rule.describe()
        ),
        action: format!("/admin/t/{slug}/rules/{id}/remove"),
        button: "Remove rule",
        cancel: format!("/admin/t/{slug}/rules"),
    })
}

removal!(
    /// Removing a mapping rule.
    RuleRemoval,
    "rules",
    RuleRemoved,
    remove_rule
);
