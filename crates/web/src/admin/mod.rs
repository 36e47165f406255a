//! The server-rendered admin UI under `/admin`.
//!
//! Map: `session` (cookie → signed-in admin → tenant scope), `forms` (origin + CSRF
//! checks for every POST), `page` (layout, flash, rendering), `error` (one error type and
//! the error pages), `assets` (embedded CSS/JS), then one module per area whose handlers
//! extract, call one service and render one askama struct (`templates/admin/*.html`).
//!
//! Invariants: every POST passes `forms::Submitted` (or, for sign-in, the origin check);
//! every tenant page is reached through `session::TenantPage`, which answers 404 for
//! tenants the admin may not see; secrets shown once (new tokens, invitation links) are
//! rendered in the POST's answer with `Cache-Control: no-store`, never redirected through
//! a URL or stored.

mod assets;
mod audit;
mod auth;
mod confirm;
mod connect;
mod credentials;
mod defaults;
mod directory;
mod domains;
mod error;
mod export;
mod forms;
mod help;
mod import;
mod invitations;
mod locations;
mod members;
mod notifications;
mod outsiders;
mod page;
mod rehost;
mod rule_test;
mod session;
mod settings;
mod setup_links;
mod tenants;
mod webhook_deliveries;
mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, web};

use credentials::api_keys::ApiKeys;
use credentials::tokens::ScimTokens;
use error::{AdminError, see_other};

/// Scripts and styles come from our own origin only; nothing may frame the UI.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(assets::routes)
        .route("/", web::get().to(|| async { see_other("/admin") }))
        .service(
            web::scope("/admin")
                .app_data(forms::form_config())
                .app_data(forms::query_config())
                .app_data(forms::path_config())
                .wrap(from_fn(forms::canonical_host))
                .wrap(error::pages())
                .wrap(from_fn(admin_headers))
                .route("", web::get().to(auth::home))
                .route("/", web::get().to(auth::home))
                .route("/login", web::get().to(auth::login_form))
                .route("/login", web::post().to(auth::login))
                .route("/setup/end", web::post().to(setup_links::end))
                .route("/setup/{secret}", web::get().to(setup_links::landing))
                .route("/setup/{secret}", web::post().to(setup_links::start))
                .route("/invitations/{secret}", web::get().to(invitations::show))
                .route("/invitations/{secret}", web::post().to(invitations::accept))
                .route("/logout", web::post().to(auth::logout))
                .route("/password", web::get().to(auth::password_form))
                .route("/password", web::post().to(auth::change_password))
                .route("/audit", web::get().to(audit::operator))
                .route("/audit.csv", web::get().to(audit::operator_csv))
                .route("/t/{slug}/audit", web::get().to(audit::tenant))
                .route("/t/{slug}/audit.csv", web::get().to(audit::tenant_csv))
                .route("/defaults", web::get().to(defaults::show))
                .route("/defaults", web::post().to(defaults::save))
                .route("/defaults/reset", web::post().to(defaults::reset))
                .route("/tenants", web::get().to(tenants::list))
                .route("/tenants", web::post().to(tenants::create))
                .route("/t/{slug}", web::get().to(tenants::overview))
                .route("/t/{slug}/", web::get().to(tenants::to_overview))
                .route("/t/{slug}/status", web::get().to(tenants::confirm_status))
                .route("/t/{slug}/status", web::post().to(tenants::set_status))
                .route("/t/{slug}/connect", web::get().to(connect::default_guide))
                .route(
                    "/t/{slug}/connect/{idp}",
                    web::get().to(connect::guide_page),
                )
                .route(
                    "/t/{slug}/tokens",
                    web::get().to(credentials::list::<ScimTokens>),
                )
                .route(
                    "/t/{slug}/tokens",
                    web::post().to(credentials::tokens::create),
                )
                .route(
                    "/t/{slug}/tokens/{id}/revoke",
                    web::get().to(credentials::confirm_revoke::<ScimTokens>),
                )
                .route(
                    "/t/{slug}/tokens/{id}/revoke",
                    web::post().to(credentials::revoke::<ScimTokens>),
                )
                .route(
                    "/t/{slug}/api-keys",
                    web::get().to(credentials::list::<ApiKeys>),
                )
                .route(
                    "/t/{slug}/api-keys",
                    web::post().to(credentials::api_keys::create),
                )
                .route(
                    "/t/{slug}/api-keys/{id}/revoke",
                    web::get().to(credentials::confirm_revoke::<ApiKeys>),
                )
                .route(
                    "/t/{slug}/api-keys/{id}/revoke",
                    web::post().to(credentials::revoke::<ApiKeys>),
                )
                .route("/t/{slug}/users", web::get().to(directory::users))
                .route("/t/{slug}/users.csv", web::get().to(directory::users_csv))
                .route("/t/{slug}/groups.csv", web::get().to(directory::groups_csv))
                .route("/t/{slug}/log.csv", web::get().to(directory::log_csv))
                .service(
                    web::resource("/t/{slug}/users/import")
                        .app_data(forms::form_config().limit(import::IMPORT_FORM_LIMIT))
                        .route(web::get().to(import::show))
                        .route(web::post().to(import::submit)),
                )
                .route("/t/{slug}/users/{id}", web::get().to(directory::user))
                .route("/t/{slug}/groups", web::get().to(directory::groups))
                .route("/t/{slug}/groups/{id}", web::get().to(directory::group))
                .route("/t/{slug}/log", web::get().to(directory::log))
                .route(
                    "/t/{slug}/users/{id}/notifications",
                    web::post().to(notifications::save_user),
                )
                .configure(rules_routes)
                .configure(webhook_routes)
                .route("/help", web::get().to(help::page))
                .route("/help/{page}", web::get().to(help::page))
                .route("/t/{slug}/help", web::get().to(help::tenant_index))
                .route("/t/{slug}/help/{page}", web::get().to(help::tenant_page))
                .route("/t/{slug}/setup-links", web::get().to(setup_links::list))
                .route("/t/{slug}/setup-links", web::post().to(setup_links::create))
                .route(
                    "/t/{slug}/setup-links/{id}/revoke",
                    web::get().to(setup_links::confirm_revoke),
                )
                .route(
                    "/t/{slug}/setup-links/{id}/revoke",
                    web::post().to(setup_links::revoke),
                )
                .route("/t/{slug}/admins", web::get().to(members::list))
                .route("/t/{slug}/admins", web::post().to(members::invite))
                .route(
                    "/t/{slug}/admins/{id}/remove",
                    web::get().to(members::confirm_remove),
                )
                .route(
                    "/t/{slug}/admins/{id}/remove",
                    web::post().to(members::remove),
                )
                .route(
                    "/t/{slug}/invitations/{id}/revoke",
                    web::post().to(members::revoke_invitation),
                )
                .default_service(web::to(not_found)),
        );
}

/// The tenant's rules: settings, domains, notifications, locations, mapping rules and
/// custom attributes. Removals have a confirmation page (GET) posting to the same URL.
fn rules_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/t/{slug}/settings", web::get().to(settings::settings))
        .route(
            "/t/{slug}/settings",
            web::post().to(settings::save_settings),
        )
        .route("/t/{slug}/attributes", web::get().to(settings::attributes))
        .route(
            "/t/{slug}/attributes",
            web::post().to(settings::add_attribute),
        )
        .route(
            "/t/{slug}/settings/provisioning",
            web::post().to(settings::set_provisioning),
        )
        .route("/t/{slug}/domains", web::get().to(domains::list))
        .route(
            "/t/{slug}/domains/outsiders",
            web::get().to(outsiders::list),
        )
        .route(
            "/t/{slug}/domains/outsiders/deactivate",
            web::get().to(outsiders::confirm_deactivate),
        )
        .route(
            "/t/{slug}/domains/outsiders/deactivate",
            web::post().to(outsiders::deactivate),
        )
        .route("/t/{slug}/domains", web::post().to(domains::add))
        .route(
            "/t/{slug}/domains/{id}/verify",
            web::post().to(domains::verify),
        )
        .route(
            "/t/{slug}/domains/{id}/mark-verified",
            web::post().to(domains::mark_verified),
        )
        .route(
            "/t/{slug}/domains/{id}/subdomains",
            web::post().to(domains::set_subdomains),
        )
        .route(
            "/t/{slug}/notifications",
            web::get().to(notifications::catalogue),
        )
        .route(
            "/t/{slug}/notifications",
            web::post().to(notifications::add_type),
        )
        .route(
            "/t/{slug}/notifications/defaults",
            web::post().to(notifications::save_defaults),
        )
        .route("/t/{slug}/locations", web::get().to(locations::locations))
        .route(
            "/t/{slug}/locations",
            web::post().to(locations::add_location),
        )
        .route(
            "/t/{slug}/locations/{id}/kiosks",
            web::post().to(locations::add_kiosk),
        )
        .route("/t/{slug}/rules", web::get().to(locations::rules))
        .route("/t/{slug}/rules", web::post().to(locations::add_rule))
        .route("/t/{slug}/rules/test", web::post().to(rule_test::test_user))
        .route(
            "/t/{slug}/rules/{id}/move",
            web::post().to(locations::move_rule),
        );
    cfg.route(
        "/t/{slug}/attributes/{id}/remove",
        web::get().to(settings::confirm_remove_attribute),
    )
    .route(
        "/t/{slug}/attributes/{id}/remove",
        web::post().to(confirm::remove::<settings::AttributeRemoval>),
    )
    .route(
        "/t/{slug}/domains/{id}/remove",
        web::get().to(domains::confirm_remove),
    )
    .route(
        "/t/{slug}/domains/{id}/remove",
        web::post().to(confirm::remove::<domains::DomainRemoval>),
    )
    .route(
        "/t/{slug}/notifications/reapply",
        web::get().to(notifications::confirm_reapply),
    )
    .route(
        "/t/{slug}/notifications/reapply",
        web::post().to(notifications::reapply),
    )
    .route(
        "/t/{slug}/notifications/{id}/remove",
        web::get().to(notifications::confirm_remove_type),
    )
    .route(
        "/t/{slug}/notifications/{id}/remove",
        web::post().to(confirm::remove::<notifications::NotificationTypeRemoval>),
    )
    .route(
        "/t/{slug}/locations/reapply",
        web::get().to(rehost::confirm_reapply),
    )
    .route(
        "/t/{slug}/locations/reapply",
        web::post().to(rehost::reapply),
    )
    .route(
        "/t/{slug}/locations/{id}/remove",
        web::get().to(locations::confirm_remove_location),
    )
    .route(
        "/t/{slug}/locations/{id}/remove",
        web::post().to(confirm::remove::<locations::LocationRemoval>),
    )
    .route(
        "/t/{slug}/kiosks/{id}/remove",
        web::get().to(locations::confirm_remove_kiosk),
    )
    .route(
        "/t/{slug}/kiosks/{id}/remove",
        web::post().to(confirm::remove::<locations::KioskRemoval>),
    )
    .route(
        "/t/{slug}/rules/{id}/remove",
        web::get().to(locations::confirm_remove_rule),
    )
    .route(
        "/t/{slug}/rules/{id}/remove",
        web::post().to(confirm::remove::<locations::RuleRemoval>),
    );
}

/// Webhook endpoints and their deliveries. Rotation and deletion have a confirmation
/// page (GET) posting to the same URL.
fn webhook_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/t/{slug}/webhooks", web::get().to(webhooks::list))
        .route("/t/{slug}/webhooks", web::post().to(webhooks::create))
        .route("/t/{slug}/webhooks/{id}", web::get().to(webhooks::show))
        .route("/t/{slug}/webhooks/{id}", web::post().to(webhooks::update))
        .route(
            "/t/{slug}/webhooks/{id}/test",
            web::post().to(webhooks::send_test),
        )
        .route(
            "/t/{slug}/webhooks/{id}/rotate",
            web::get().to(webhooks::confirm_rotate),
        )
        .route(
            "/t/{slug}/webhooks/{id}/rotate",
            web::post().to(webhooks::rotate),
        )
        .route(
            "/t/{slug}/webhooks/{id}/delete",
            web::get().to(webhooks::confirm_delete),
        )
        .route(
            "/t/{slug}/webhooks/{id}/delete",
            web::post().to(webhooks::delete),
        )
        .route(
            "/t/{slug}/webhooks/{id}/deliveries/{delivery}/redeliver",
            web::post().to(webhooks::redeliver),
        )
        .route(
            "/t/{slug}/webhooks/{id}/deliveries/{delivery}",
            web::get().to(webhook_deliveries::payload),
        )
        .route(
            "/t/{slug}/webhooks/{id}/redeliver-failed",
            web::post().to(webhook_deliveries::redeliver_failed),
        );
}

async fn not_found() -> Result<HttpResponse, AdminError> {
    Err(AdminError::NotFound)
}

/// Security headers of every admin answer, and the end of a flash message once shown.
async fn admin_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let had_flash = req.cookie(page::FLASH_COOKIE).is_some();
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with `no-referrer` browsers send `Origin: null`
    // on form posts, and the origin check needs the real origin.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Admin pages show personal data; no shared or back-button cache keeps them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if had_flash && !res.status().is_redirection() {
        let mut gone = page::Flash::SignedOut.cookie();
        gone.make_removal();
        res.response_mut().add_cookie(&gone)?;
    }
    Ok(res)
}
