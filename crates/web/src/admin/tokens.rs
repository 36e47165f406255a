//! SCIM tokens: list, create (the token is shown once, in the answer to the POST, and
//! never again: it is not stored, not logged, not put in a URL), revoke with confirmation.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::paging::PageSize;
use roster_core::rules::TenantRules;
use roster_core::time::Timestamp;
use roster_core::tokens::{TokenExpiry, TokenId, TokenInfo, TokenLabel};
use secrecy::ExposeSecret;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::message_of;
use super::error::AdminError;
use super::forms::{CsrfForm, CsrfOnly, Posted};
use super::page::{Flash, Layout, invalid, ok, redirect_with, when, when_opt};
use super::session::{TenantView, Tokens};
use super::tenants::{scim_base_url, scim_shared_url};
use crate::AppState;

pub(crate) struct TokenRow {
    id: String,
    label: String,
    prefix: String,
    created: String,
    last_used: String,
    expires: String,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
    /// The trusted domain the token is limited to, or empty for the whole tenant.
    scope: String,
}

impl TokenRow {
    fn new(token: TokenInfo, now: Timestamp, rules: &TenantRules) -> Self {
        let state = if token.revoked_at.is_some() {
            "revoked"
        } else if token.is_live(now) {
            "active"
        } else {
            "expired"
        };
        Self {
            id: token.id.0.to_string(),
            label: token.label,
            prefix: token.display_prefix,
            created: when(token.created_at),
            last_used: when_opt(token.last_used_at, "Never"),
            expires: when_opt(token.expires_at, "Never"),
            state,
            scope: token
                .domain_id
                .map(|id| {
                    rules
                        .domain(id)
                        .map_or_else(|| "a removed domain".to_owned(), |d| d.domain.to_string())
                })
                .unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    l: Layout,
    tokens: Vec<TokenRow>,
    next: Option<String>,
    label: String,
    expires: String,
    label_error: Option<String>,
    expires_error: Option<String>,
    /// The verified domains a token may be limited to: (id, name).
    domains: Vec<(String, String)>,
    domain: String,
    domain_error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct BeforeQuery {
    before: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    expires: String,
    /// A verified domain's id, or empty for the whole tenant.
    #[serde(default)]
    domain: String,
}

impl CsrfForm for TokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

struct FormState {
    label: String,
    expires: String,
    label_error: Option<String>,
    expires_error: Option<String>,
    domain: String,
    domain_error: Option<String>,
}

async fn tokens_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantView<Tokens>,
    before: Option<TokenId>,
    form: FormState,
) -> Result<TokensPage, AdminError> {
    let result = state
        .services
        .tokens()
        .list(&page.scope, before, PageSize::DEFAULT)
        .await?;
    let rules = state.services.rules().rules(&page.scope).await?;
    let now = Timestamp::now();
    Ok(TokensPage {
        l: Layout::view(req, page, "tokens"),
        tokens: result
            .items
            .into_iter()
            .map(|token| TokenRow::new(token, now, &rules))
            .collect(),
        next: result.next.map(|id| id.0.to_string()),
        label: form.label,
        expires: form.expires,
        label_error: form.label_error,
        expires_error: form.expires_error,
        domains: rules
            .verified_domains()
            .map(|d| (d.id.to_string(), d.domain.to_string()))
            .collect(),
        domain: form.domain,
        domain_error: form.domain_error,
    })
}

pub(crate) async fn list(
    req: HttpRequest,
    page: TenantView<Tokens>,
    state: web::Data<AppState>,
    query: web::Query<BeforeQuery>,
) -> Result<HttpResponse, AdminError> {
    let before = query
        .before
        .as_deref()
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .map(TokenId);
    let form = FormState {
        label: String::new(),
        expires: String::new(),
        label_error: None,
        expires_error: None,
        domain: String::new(),
        domain_error: None,
    };
    ok(&tokens_page(&req, &state, &page, before, form).await?)
}

#[derive(Template)]
#[template(path = "admin/token_created.html")]
struct CreatedPage<'a> {
    l: Layout,
    label: String,
    token: &'a str,
    scim_url: String,
    /// The shared base URL, when the operator has it on.
    shared_url: Option<String>,
}

pub(crate) async fn create(
    req: HttpRequest,
    page: TenantView<Tokens>,
    state: web::Data<AppState>,
    submitted: Posted<TokenForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    // Empty is the whole tenant; anything else must be one of the tenant's verified
    // domains, which the service checks.
    let domain = match form.domain.trim() {
        "" => Ok(None),
        raw => Uuid::parse_str(raw).map(Some).map_err(|_| {
            roster_core::Error::invalid("domain", "must be one of the listed domains")
        }),
    };
    let parsed = (
        TokenLabel::parse(&form.label),
        TokenExpiry::parse(&form.expires),
        domain,
    );
    let created = match parsed {
        (Ok(label), Ok(expiry), Ok(domain)) => state
            .services
            .tokens()
            .create_for(&page.scope, label, expiry.at(), domain)
            .await
            .map_err(|err| (None, None, Some(err))),
        (label, expiry, domain) => Err((label.err(), expiry.err(), domain.err())),
    };
    match created {
        Ok(created) => {
            let body = CreatedPage {
                l: Layout::view(&req, &page, "tokens"),
                label: created.info.label.clone(),
                token: created.token.expose_secret(),
                scim_url: scim_base_url(&state, page.scope.slug()),
                shared_url: scim_shared_url(&state),
            };
            // Shown once: no cache may keep it, and reloading would only create another.
            let mut response = ok(&body)?;
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err((label, expiry, domain)) => {
            if let Some(err) = &domain
                && !matches!(err, roster_core::Error::Invalid { .. })
            {
                return Err(domain.map_or(AdminError::Internal, Into::into));
            }
            let form = FormState {
                label_error: label.map(message_of),
                expires_error: expiry.map(message_of),
                domain_error: domain.map(message_of),
                label: form.label,
                expires: form.expires,
                domain: form.domain,
            };
            invalid(&tokens_page(&req, &state, &page, None, form).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/token_revoke.html")]
struct RevokePage {
    l: Layout,
    token: TokenRow,
}

async fn find_token(
    state: &AppState,
    page: &TenantView<Tokens>,
    raw_id: &str,
) -> Result<TokenInfo, AdminError> {
    let id = Uuid::parse_str(raw_id).map_err(|_| AdminError::NotFound)?;
    state
        .services
        .tokens()
        .find(&page.scope, TokenId(id))
        .await?
        .ok_or(AdminError::NotFound)
}

pub(crate) async fn confirm_revoke(
    req: HttpRequest,
    page: TenantView<Tokens>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let token = find_token(&state, &page, &path.1).await?;
    let rules = state.services.rules().rules(&page.scope).await?;
    ok(&RevokePage {
        l: Layout::view(&req, &page, "tokens"),
        token: TokenRow::new(token, Timestamp::now(), &rules),
    })
}

pub(crate) async fn revoke(
    page: TenantView<Tokens>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Posted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let token = find_token(&state, &page, &path.1).await?;
    state
        .services
        .tokens()
        .revoke(&page.scope, token.id)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/tokens", page.scope.slug()),
        Flash::TokenRevoked,
    ))
}
