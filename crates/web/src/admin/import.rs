//! "Import users": the tenant admin pastes (or, with the page's script, loads) a CSV of
//! the product's existing users; *Preview* shows what would happen to each line and
//! every line's error in place; *Import* checks everything again and writes only when
//! no line has an error — then in chunks, so other tenants' writes pass in between.
//! The CSV travels in the form itself (no upload is stored between the two steps).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::provisioning::{
    CsvError, MAX_CSV_BYTES, RequestContext, SeedError, SeedOutcome, Seeded, parse_seed_csv,
};
use serde::Deserialize;

use super::error::AdminError;
use super::forms::{CsrfForm, Submitted};
use super::page::{Layout, invalid, ok, request_id_of};
use super::session::TenantPage;
use crate::AppState;

/// Errors listed on the page; the count says how many more there are.
const SHOWN_ERRORS: usize = 200;
/// Preview lines listed on the page.
const SHOWN_LINES: usize = 100;
/// Largest form: the CSV's 5 MB, URL-encoded (up to three bytes each), and the rest.
pub(crate) const IMPORT_FORM_LIMIT: usize = 3 * MAX_CSV_BYTES + 64 * 1024;

pub(crate) struct ErrorRow {
    line: String,
    user_name: String,
    field: String,
    message: String,
}

pub(crate) struct PreviewRow {
    line: u64,
    user_name: String,
    product_ref: String,
    outcome: &'static str,
}

#[derive(Template)]
#[template(path = "admin/users_import.html")]
struct ImportPage {
    l: Layout,
    csv: String,
    errors: Vec<ErrorRow>,
    more_errors: usize,
    preview: Vec<PreviewRow>,
    more_lines: usize,
    /// (to create, to link, unchanged) of a clean preview.
    counts: Option<(usize, usize, usize)>,
    /// (created, linked, unchanged) after an import.
    imported: Option<(usize, usize, usize)>,
}

impl ImportPage {
    fn new(req: &HttpRequest, page: &TenantPage, csv: String) -> Self {
        Self {
            l: Layout::tenant(req, &page.session, &page.scope, "users"),
            csv,
            errors: Vec::new(),
            more_errors: 0,
            preview: Vec::new(),
            more_lines: 0,
            counts: None,
            imported: None,
        }
    }

    fn show_errors(&mut self, errors: Vec<CsvError>) {
        self.more_errors = errors.len().saturating_sub(SHOWN_ERRORS);
        self.errors = errors
            .into_iter()
            .take(SHOWN_ERRORS)
            .map(|e| ErrorRow {
                line: e.line.map_or_else(|| "file".to_owned(), |n| n.to_string()),
                user_name: e.user_name,
                field: e.field,
                message: e.message,
            })
            .collect();
    }
}

#[derive(Deserialize)]
pub(crate) struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
    /// `preview` or `import`.
    #[serde(default)]
    action: String,
}

impl CsrfForm for ImportForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
pub(crate) struct ImportedQuery {
    created: Option<usize>,
    linked: Option<usize>,
    unchanged: Option<usize>,
}

pub(crate) async fn show(
    req: HttpRequest,
    page: TenantPage,
    query: web::Query<ImportedQuery>,
) -> Result<HttpResponse, AdminError> {
    let mut body = ImportPage::new(&req, &page, String::new());
    if let (Some(c), Some(l), Some(u)) = (query.created, query.linked, query.unchanged) {
        body.imported = Some((c, l, u));
    }
    ok(&body)
}

fn count(seeded: &[Seeded], outcome: SeedOutcome) -> usize {
    seeded.iter().filter(|s| s.outcome == outcome).count()
}

/// A seed's refusal as the page's errors, each with its CSV line.
fn refusal_rows(err: SeedError, lines: &[u64]) -> Result<Vec<CsvError>, AdminError> {
    match err {
        SeedError::Refused(errors) => Ok(errors
            .into_iter()
            .map(|e| CsvError {
                line: e.index.and_then(|i| lines.get(i).copied()),
                user_name: e.user_name.unwrap_or_default(),
                field: e.field,
                message: match e.same_as.and_then(|i| lines.get(i)) {
                    Some(first) => format!("{} (line {first})", e.message),
                    None => e.message,
                },
            })
            .collect()),
        SeedError::Internal(err) => Err(err.into()),
    }
}

pub(crate) async fn submit(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<ImportForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let parsed = parse_seed_csv(&form.csv);
    let mut body = ImportPage::new(&req, &page, form.csv.clone());
    if !parsed.errors.is_empty() {
        body.show_errors(parsed.errors);
        return invalid(&body);
    }
    let provisioning = state.services.provisioning();
    let ctx = RequestContext::for_admin(&page.scope, request_id_of(&req));
    // Every line is checked against the directory before anything is written.
    let preview = match provisioning.preview_seed(&ctx, &parsed.users).await {
        Ok(preview) => preview,
        Err(err) => {
            body.show_errors(refusal_rows(err, &parsed.lines)?);
            return invalid(&body);
        }
    };
    if form.action != "import" {
        body.counts = Some((
            count(&preview, SeedOutcome::Created),
            count(&preview, SeedOutcome::Linked),
            count(&preview, SeedOutcome::Unchanged),
        ));
        body.more_lines = preview.len().saturating_sub(SHOWN_LINES);
        body.preview = preview
            .iter()
            .zip(&parsed.lines)
            .take(SHOWN_LINES)
            .map(|(s, line)| PreviewRow {
                line: *line,
                user_name: s.user_name.clone(),
                product_ref: s.product_ref.clone().unwrap_or_default(),
                outcome: s.outcome.as_str(),
            })
            .collect();
        return ok(&body);
    }
    let seeded = match provisioning
        .import_users(&page.scope, &request_id_of(&req), &parsed.users)
        .await
    {
        Ok(seeded) => seeded,
        Err(err) => {
            // Another writer got there since the preview: what came before is imported,
            // and importing the same file again finishes it.
            body.show_errors(refusal_rows(err, &parsed.lines)?);
            return invalid(&body);
        }
    };
    let created = count(&seeded, SeedOutcome::Created);
    let linked = count(&seeded, SeedOutcome::Linked);
    let unchanged = count(&seeded, SeedOutcome::Unchanged);
    Ok(HttpResponse::SeeOther()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!(
                "/admin/t/{}/users/import?created={created}&linked={linked}&unchanged={unchanged}",
                page.scope.slug()
            ),
        ))
        .finish())
}
