//! API keys for the events and directory API: what a key may do (read, or read and write
//! users), who may manage them (an admin), and the create form. The keys live in the same
//! table as SCIM tokens with `kind = api` and never open the SCIM endpoint; the life cycle
//! is the one in `credentials`.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::memberships::TenantAccess;
use roster_core::tokens::{ApiScope, TokenExpiry, TokenId, TokenInfo, TokenLabel, TokenService};
use secrecy::ExposeSecret;

use super::{CreateForm, CredentialRow, FormState, Kind, listing, shown_once};
use crate::AppState;
use crate::admin::auth::message_of;
use crate::admin::error::AdminError;
use crate::admin::forms::{CsrfOnly, Submitted};
use crate::admin::page::{Flash, Layout, invalid, ok};
use crate::admin::session::TenantPage;

/// API keys, the kind.
pub(crate) struct ApiKeys;

impl Kind for ApiKeys {
    type Page = TenantPage;
    type RevokeForm = Submitted<CsrfOnly>;
    type Limits = ();
    type ListPage = KeysPage;
    const SECTION: &'static str = "api-keys";
    const REVOKED: Flash = Flash::ApiKeyRevoked;

    fn service(state: &AppState) -> &TokenService {
        state.services.api_keys()
    }

    async fn limits(_: &AppState, _: &TenantAccess) -> Result<(), AdminError> {
        Ok(())
    }

    /// What the key may do, as the page names it.
    fn limit(info: &TokenInfo, (): &()) -> String {
        info.api_scope.label().to_owned()
    }

    async fn list_page(
        req: &HttpRequest,
        state: &AppState,
        page: &TenantPage,
        before: Option<TokenId>,
        form: FormState,
    ) -> Result<KeysPage, AdminError> {
        let listed = listing::<ApiKeys>(state, &page.scope, before).await?;
        Ok(KeysPage {
            l: Layout::tenant(req, &page.session, &page.scope, ApiKeys::SECTION),
            keys: listed.rows,
            next: listed.next,
            form: FormState {
                limit: if form.limit.is_empty() {
                    ApiScope::Read.as_str().to_owned()
                } else {
                    form.limit
                },
                ..form
            },
            api_url: api_base_url(state),
        })
    }

    fn revoke_page(l: Layout, key: CredentialRow) -> Result<HttpResponse, AdminError> {
        ok(&RevokePage { l, key })
    }
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
pub(crate) struct KeysPage {
    l: Layout,
    keys: Vec<CredentialRow>,
    next: Option<String>,
    form: FormState,
    api_url: String,
}

/// The API's base URL, e.g. `https://roster.example.com/api/v1`.
fn api_base_url(state: &AppState) -> String {
    format!(
        "{}/api/v1",
        state.config.public_url.as_str().trim_end_matches('/')
    )
}

#[derive(Template)]
#[template(path = "admin/api_key_created.html")]
struct CreatedPage<'a> {
    l: Layout,
    label: String,
    key: &'a str,
    scope: &'static str,
    api_url: String,
}

pub(crate) async fn create(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<CreateForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let created = match (
        TokenLabel::parse(&form.label),
        TokenExpiry::parse(&form.expires, state.services.clock().now()),
        ApiScope::parse(&form.scope),
    ) {
        (Ok(label), Ok(expiry), Ok(scope)) => state
            .services
            .api_keys()
            .create_api_key(&page.scope, label, expiry.at(), scope)
            .await
            .map(Ok)?,
        (label, expiry, scope) => Err((label.err(), expiry.err(), scope.err())),
    };
    match created {
        Ok(created) => shown_once(&CreatedPage {
            l: Layout::tenant(&req, &page.session, &page.scope, ApiKeys::SECTION),
            label: created.info.label.clone(),
            key: created.token.expose_secret(),
            scope: created.info.api_scope.label(),
            api_url: api_base_url(&state),
        }),
        Err((label, expiry, scope)) => {
            let form = FormState {
                label_error: label.map(message_of),
                expires_error: expiry.map(message_of),
                limit_error: scope.map(message_of),
                label: form.label,
                expires: form.expires,
                limit: form.scope,
            };
            invalid(&ApiKeys::list_page(&req, &state, &page, None, form).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/api_key_revoke.html")]
struct RevokePage {
    l: Layout,
    key: CredentialRow,
}
