//! The audit log: a tenant's (tab *Audit log*, the tenant's admins and operators) and
//! every tenant's (operators, `/admin/audit`), filtered by category and actor,
//! keyset-paged, and exported as CSV with the same filters.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::audit::{AuditEntry, AuditFilter, Category};
use roster_core::directory::SearchTerm;
use roster_core::paging::PageSize;
use roster_core::tenants::require_operator;
use serde::Deserialize;

use super::error::AdminError;
use super::export::{self, EXPORT_PAGE};
use super::page::{Layout, ok, when};
use super::session::{Admin, TenantPage};
use crate::AppState;

pub(crate) struct AuditRow {
    time: String,
    actor: String,
    actor_kind: String,
    action: String,
    target: String,
    before: String,
    after: String,
    request_id: String,
    client_address: String,
    /// The tenant's slug, on the operator's page.
    tenant: String,
}

fn json_text(value: Option<&serde_json::Value>) -> String {
    value.map(ToString::to_string).unwrap_or_default()
}

impl AuditRow {
    fn new(entry: AuditEntry, tenant: String) -> Self {
        let target = match (&entry.target_kind, &entry.target_name) {
            (Some(kind), Some(name)) => format!("{} {name}", kind.replace('_', " ")),
            (Some(kind), None) => kind.replace('_', " "),
            _ => String::new(),
        };
        Self {
            time: when(entry.occurred_at),
            actor: entry.actor_name,
            actor_kind: entry.actor_kind.replace('_', " "),
            action: entry.action,
            target,
            before: json_text(entry.before.as_ref()),
            after: json_text(entry.after.as_ref()),
            request_id: entry.request_id.unwrap_or_default(),
            client_address: entry.client_address.unwrap_or_default(),
            tenant,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    category: Option<String>,
    actor: Option<String>,
    tenant: Option<String>,
    before: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            category: self.category.as_deref().and_then(Category::parse),
            actor: self.actor.as_deref().and_then(SearchTerm::parse),
            before: self.before.as_deref().and_then(|raw| raw.parse().ok()),
        }
    }

    /// The filters as a query string (without the cursor).
    fn query_string(filter: &AuditFilter, tenant: &str) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("category", filter.category.map_or("", Category::as_str));
        url.append_pair(
            "actor",
            filter.actor.as_ref().map_or("", SearchTerm::as_str),
        );
        if !tenant.is_empty() {
            url.append_pair("tenant", tenant);
        }
        url.finish()
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    l: Layout,
    /// Where the filter form and the links go: the tenant's page or the operator's.
    base: String,
    operator_view: bool,
    categories: Vec<(&'static str, &'static str)>,
    category: String,
    actor: String,
    tenant: String,
    filters: String,
    entries: Vec<AuditRow>,
    next: Option<String>,
}

fn categories() -> Vec<(&'static str, &'static str)> {
    Category::ALL
        .iter()
        .map(|c| (c.as_str(), c.label()))
        .collect()
}

pub(crate) async fn tenant(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AdminError> {
    let filter = query.filter();
    let result = state
        .services
        .audit()
        .tenant(&page.scope, &filter, PageSize::DEFAULT)
        .await?;
    let filters = AuditQuery::query_string(&filter, "");
    ok(&AuditPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "audit"),
        base: format!("/admin/t/{}/audit", page.scope.slug()),
        operator_view: false,
        categories: categories(),
        category: filter.category.map_or("", Category::as_str).to_owned(),
        actor: filter
            .actor
            .as_ref()
            .map_or("", SearchTerm::as_str)
            .to_owned(),
        tenant: String::new(),
        next: result
            .next
            .map(|before| format!("{filters}&before={before}")),
        filters,
        entries: result
            .items
            .into_iter()
            .map(|e| AuditRow::new(e, String::new()))
            .collect(),
    })
}

pub(crate) async fn operator(
    req: HttpRequest,
    Admin(session): Admin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AdminError> {
    require_operator(&session.admin)?;
    let filter = query.filter();
    let tenant_slug = query.tenant.clone().unwrap_or_default();
    let tenant = match tenant_slug.trim() {
        "" => None,
        slug => state
            .services
            .tenants()
            .find_by_slug(slug)
            .await?
            .map(|t| t.id),
    };
    let result = state
        .services
        .audit()
        .all(&session.admin, tenant, &filter, PageSize::DEFAULT)
        .await?;
    let tenant_text = if tenant.is_some() {
        tenant_slug.trim().to_owned()
    } else {
        String::new()
    };
    let filters = AuditQuery::query_string(&filter, &tenant_text);
    ok(&AuditPage {
        l: Layout::new(&req, &session, "operator-audit"),
        base: "/admin/audit".to_owned(),
        operator_view: true,
        categories: categories(),
        category: filter.category.map_or("", Category::as_str).to_owned(),
        actor: filter
            .actor
            .as_ref()
            .map_or("", SearchTerm::as_str)
            .to_owned(),
        tenant: tenant_text,
        next: result
            .next
            .map(|before| format!("{filters}&before={before}")),
        filters,
        entries: result
            .items
            .into_iter()
            .map(|e| {
                let slug = e.tenant_slug.clone().unwrap_or_default();
                AuditRow::new(e, slug)
            })
            .collect(),
    })
}

const CSV_COLUMNS: [&str; 13] = [
    "time",
    "tenant",
    "actor_kind",
    "actor",
    "action",
    "target_kind",
    "target_id",
    "target",
    "before",
    "after",
    "request_id",
    "client_address",
    "id",
];

fn csv_row(entry: AuditEntry, tenant: String) -> Vec<String> {
    vec![
        entry.occurred_at.to_rfc3339(),
        tenant,
        entry.actor_kind,
        entry.actor_name,
        entry.action,
        entry.target_kind.unwrap_or_default(),
        entry.target_id.unwrap_or_default(),
        entry.target_name.unwrap_or_default(),
        json_text(entry.before.as_ref()),
        json_text(entry.after.as_ref()),
        entry.request_id.unwrap_or_default(),
        entry.client_address.unwrap_or_default(),
        entry.id.to_string(),
    ]
}

pub(crate) async fn tenant_csv(
    page: TenantPage,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> HttpResponse {
    let filter = query.filter();
    let scope = page.scope;
    export::csv(
        &format!("{}-audit-log.csv", scope.slug()),
        &CSV_COLUMNS,
        move |before: Option<i64>| {
            let (state, scope) = (state.clone(), scope.clone());
            let filter = AuditFilter {
                before,
                ..filter.clone()
            };
            async move {
                let page = state
                    .services
                    .audit()
                    .tenant(&scope, &filter, PageSize::new(EXPORT_PAGE))
                    .await?;
                let slug = scope.slug().to_string();
                let rows = page
                    .items
                    .into_iter()
                    .map(|e| csv_row(e, slug.clone()))
                    .collect();
                Ok((rows, page.next))
            }
        },
    )
}

pub(crate) async fn operator_csv(
    Admin(session): Admin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AdminError> {
    require_operator(&session.admin)?;
    let filter = query.filter();
    let tenant = match query.tenant.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(slug) => state
            .services
            .tenants()
            .find_by_slug(slug)
            .await?
            .map(|t| t.id),
    };
    let admin = session.admin;
    Ok(export::csv(
        "audit-log.csv",
        &CSV_COLUMNS,
        move |before: Option<i64>| {
            let (state, admin) = (state.clone(), admin.clone());
            let filter = AuditFilter {
                before,
                ..filter.clone()
            };
            async move {
                let page = state
                    .services
                    .audit()
                    .all(&admin, tenant, &filter, PageSize::new(EXPORT_PAGE))
                    .await?;
                let rows = page
                    .items
                    .into_iter()
                    .map(|e| {
                        let slug = e.tenant_slug.clone().unwrap_or_default();
                        csv_row(e, slug)
                    })
                    .collect();
                Ok((rows, page.next))
            }
        },
    ))
}
