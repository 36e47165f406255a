//! SCIM tokens: what a token is limited to (a verified domain, or the whole tenant), who
//! may manage them (an admin, or a setup link with the tokens ability), and the create
//! form. The life cycle is the one in `credentials`.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::memberships::TenantAccess;
use roster_core::rules::TenantRules;
use roster_core::tokens::{TokenExpiry, TokenId, TokenInfo, TokenLabel, TokenService};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{CreateForm, CredentialRow, FormState, Kind, listing, shown_once};
use crate::AppState;
use crate::admin::auth::message_of;
use crate::admin::error::AdminError;
use crate::admin::forms::{CsrfOnly, Posted};
use crate::admin::page::{Flash, Layout, invalid, ok};
use crate::admin::session::{TenantView, Tokens};
use crate::admin::tenants::{scim_base_url, scim_shared_url};

/// SCIM tokens, the kind.
pub(crate) struct ScimTokens;

type Page = TenantView<Tokens>;

impl Kind for ScimTokens {
    type Page = Page;
    type RevokeForm = Posted<CsrfOnly>;
    type Limits = Arc<TenantRules>;
    type ListPage = TokensPage;
    const SECTION: &'static str = "tokens";
    const REVOKED: Flash = Flash::TokenRevoked;

    fn service(state: &AppState) -> &TokenService {
        state.services.tokens()
    }

    async fn limits(state: &AppState, access: &TenantAccess) -> Result<Self::Limits, AdminError> {
        Ok(state.services.rules().rules(access).await?)
    }

    /// The trusted domain the token is limited to, or empty for the whole tenant.
    fn limit(info: &TokenInfo, rules: &Self::Limits) -> String {
        info.domain_id
            .map(|id| {
                rules
                    .domain(id)
                    .map_or_else(|| "a removed domain".to_owned(), |d| d.domain.to_string())
            })
            .unwrap_or_default()
    }

    async fn list_page(
        req: &HttpRequest,
        state: &AppState,
        page: &Page,
        before: Option<TokenId>,
        form: FormState,
    ) -> Result<TokensPage, AdminError> {
        let listed = listing::<ScimTokens>(state, &page.scope, before).await?;
        Ok(TokensPage {
            l: Layout::view(req, page, ScimTokens::SECTION),
            tokens: listed.rows,
            next: listed.next,
            domains: listed
                .limits
                .verified_domains()
                .map(|d| (d.id.to_string(), d.domain.to_string()))
                .collect(),
            form,
        })
    }

    fn revoke_page(l: Layout, token: CredentialRow) -> Result<HttpResponse, AdminError> {
        ok(&RevokePage { l, token })
    }
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
pub(crate) struct TokensPage {
    l: Layout,
    tokens: Vec<CredentialRow>,
    next: Option<String>,
    /// The verified domains a token may be limited to: (id, name).
    domains: Vec<(String, String)>,
    form: FormState,
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
    page: Page,
    state: web::Data<AppState>,
    submitted: Posted<CreateForm>,
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
        TokenExpiry::parse(&form.expires, state.services.clock().now()),
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
        Ok(created) => shown_once(&CreatedPage {
            l: Layout::view(&req, &page, ScimTokens::SECTION),
            label: created.info.label.clone(),
            token: created.token.expose_secret(),
            scim_url: scim_base_url(&state, page.scope.slug()),
            shared_url: scim_shared_url(&state),
        }),
        Err((label, expiry, domain)) => {
            if let Some(err) = &domain
                && !matches!(err, roster_core::Error::Invalid { .. })
            {
                return Err(domain.map_or(AdminError::Internal, Into::into));
            }
            let form = FormState {
                label_error: label.map(message_of),
                expires_error: expiry.map(message_of),
                limit_error: domain.map(message_of),
                label: form.label,
                expires: form.expires,
                limit: form.domain,
            };
            invalid(&ScimTokens::list_page(&req, &state, &page, None, form).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/token_revoke.html")]
struct RevokePage {
    l: Layout,
    token: CredentialRow,
}
