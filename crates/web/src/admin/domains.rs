//! Trusted domains: add, the TXT record to publish, verify through DNS, mark verified by
//! hand (operators), include subdomains, remove with confirmation. Each verified
//! domain's card lists the SCIM tokens limited to it and creates one ("+ Add SCIM
//! secret", Teamup's flow; the form posts to the tokens page's own handler). The users
//! outside the verified domains are listed and deactivated from here.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::rules::{EmailDomain, TrustedDomain, VerifyOutcome};
use roster_core::time::Timestamp;
use roster_core::tokens::TokenInfo;

use super::auth::message_of;
use super::confirm::{ConfirmPage, removal};
use super::error::AdminError;
use super::forms::{CsrfOnly, DomainForm, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with, when, when_opt};
use super::session::TenantPage;
use super::settings::parse_path_id;
use crate::AppState;

pub(crate) struct DomainRow {
    id: String,
    domain: String,
    include_subdomains: bool,
    txt: String,
    /// The id of the TXT value's field (unique on the page).
    txt_id: String,
    verified: Option<String>,
    last_checked: String,
    last_error: String,
    /// The tokens limited to this domain (not revoked).
    tokens: Vec<DomainToken>,
}

/// A token on a domain's card.
pub(crate) struct DomainToken {
    id: String,
    label: String,
    prefix: String,
    last_used: String,
    live: bool,
}

/// Tokens shown per page of domains: the tokens page lists them all.
const DOMAIN_TOKENS: u64 = 200;

impl DomainRow {
    fn new(d: &TrustedDomain, tokens: &[TokenInfo], now: Timestamp) -> Self {
        let mut row = Self::from(d);
        row.tokens = tokens
            .iter()
            .filter(|t| t.domain_id == Some(d.id))
            .map(|t| DomainToken {
                id: t.id.0.to_string(),
                label: t.label.clone(),
                prefix: t.display_prefix.clone(),
                last_used: when_opt(t.last_used_at, "never"),
                live: t.is_live(now),
            })
            .collect();
        row
    }
}

impl From<&TrustedDomain> for DomainRow {
    fn from(d: &TrustedDomain) -> Self {
        Self {
            id: d.id.to_string(),
            domain: d.domain.to_string(),
            include_subdomains: d.include_subdomains,
            txt: d.txt_value(),
            txt_id: format!("txt-{}", d.id),
            verified: d
                .verified
                .as_ref()
                .map(|v| format!("{} by {}", when(v.at), v.by)),
            last_checked: when_opt(d.last_checked_at, "never"),
            last_error: d.last_check_error.clone().unwrap_or_default(),
            tokens: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/domains.html")]
struct DomainsPage {
    l: Layout,
    sub: &'static str,
    domains: Vec<DomainRow>,
    domain: String,
    include_subdomains: bool,
    domain_error: Option<String>,
    /// "Only users in verified domains" is on.
    domains_only: bool,
}

async fn domains_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    domain: String,
    include_subdomains: bool,
    domain_error: Option<String>,
) -> Result<DomainsPage, AdminError> {
    let domains = state.services.rules().domains(&page.scope).await?;
    let ids: Vec<_> = domains.iter().map(|d| d.id).collect();
    let tokens = state
        .services
        .tokens()
        .for_domains(&page.scope, &ids, DOMAIN_TOKENS)
        .await?;
    let now = state.services.clock().now();
    let rules = state.services.rules().rules(&page.scope).await?;
    Ok(DomainsPage {
        l: Layout::tenant(req, &page.session, &page.scope, "rules"),
        sub: "domains",
        domains: domains
            .iter()
            .map(|d| DomainRow::new(d, &tokens, now))
            .collect(),
        domain,
        include_subdomains,
        domain_error,
        domains_only: rules.settings.domains_only,
    })
}

pub(crate) async fn list(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    ok(&domains_page(&req, &state, &page, String::new(), false, None).await?)
}

fn back(page: &TenantPage, flash: Flash) -> HttpResponse {
    redirect_with(&format!("/admin/t/{}/domains", page.scope.slug()), flash)
}

pub(crate) async fn add(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<DomainForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let include = form.include_subdomains();
    let raw = form.domain;
    let result = match EmailDomain::parse(&raw) {
        Ok(domain) => {
            state
                .services
                .rules()
                .add_domain(&page.scope, domain, include)
                .await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => Ok(back(&page, Flash::DomainAdded)),
        Err(err @ roster_core::Error::Invalid { .. }) => {
            invalid(&domains_page(&req, &state, &page, raw, include, Some(message_of(err))).await?)
        }
        Err(err) => Err(err.into()),
    }
}

pub(crate) async fn verify(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let outcome = state
        .services
        .rules()
        .verify_domain(&page.scope, id)
        .await?;
    Ok(back(
        &page,
        match outcome {
            VerifyOutcome::Verified => Flash::DomainVerified,
            VerifyOutcome::NotYet(_) => Flash::DomainNotVerified,
        },
    ))
}

/// Operators only: the service answers `NotFound` to tenant admins.
pub(crate) async fn mark_verified(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let outcome = state
        .services
        .rules()
        .mark_verified(&page.scope, id, &page.session.admin)
        .await?;
    Ok(back(
        &page,
        match outcome {
            VerifyOutcome::Verified => Flash::DomainVerified,
            VerifyOutcome::NotYet(_) => Flash::DomainNotVerified,
        },
    ))
}

pub(crate) async fn set_subdomains(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    submitted: Submitted<DomainForm>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    state
        .services
        .rules()
        .set_include_subdomains(&page.scope, id, submitted.form.include_subdomains())
        .await?;
    Ok(back(&page, Flash::DomainChanged))
}

pub(crate) async fn confirm_remove(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    let domain = state.services.rules().domain(&page.scope, id).await?;
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: format!("Remove {}?", domain.domain),
        message: format!(
            "Users in {} are no longer accepted once no verified domain covers them, and SCIM \
             tokens limited to this domain are revoked at once. Users already provisioned stay.",
            domain.domain
        ),
        action: format!("/admin/t/{slug}/domains/{id}/remove"),
        button: "Remove domain",
        cancel: format!("/admin/t/{slug}/domains"),
    })
}

removal!(
    /// Removing a trusted domain.
    DomainRemoval,
    "domains",
    DomainRemoved,
    remove_domain
);
