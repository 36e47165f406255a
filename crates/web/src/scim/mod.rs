//! The SCIM 2.0 endpoint of each tenant, `/scim/v2/{tenant}/…`, and the shared one,
//! `/scim/v2/…`, where the token alone decides the tenant.
//!
//! Every route authenticates with the tenant's bearer token ([`caller::ScimCaller`]),
//! then calls one function of `roster_core::provisioning` and maps its result
//! ([`respond`], [`error`]). The two base URLs serve the same endpoints with the same
//! handlers; the caller knows which one the request came through
//! (`roster_core::provisioning::ScimEndpoint`), and every location in the answer points
//! at it.

pub(crate) mod caller;
mod endpoints;
mod error;
mod params;
mod resources;
mod respond;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, NormalizePath, TrailingSlash, from_fn};
use actix_web::{HttpMessage, web};
use roster_core::idp::recognise_test_call;
use roster_core::provisioning::RequestContext;
use roster_scim::schema::ResourceKind;

use crate::AppState;

fn resource_routes(cfg: &mut web::ServiceConfig, kind: ResourceKind) {
    let base = kind.endpoint();
    let kind = web::Data::new(kind);
    cfg.service(
        web::resource(base)
            .app_data(kind.clone())
            .route(web::get().to(resources::list))
            .route(web::post().to(resources::create))
            .default_service(web::to(endpoints::method_not_allowed)),
    )
    .service(
        web::resource(format!("{base}/.search"))
            .app_data(kind.clone())
            .route(web::post().to(resources::search))
            .default_service(web::to(endpoints::method_not_allowed)),
    )
    .service(
        web::resource(format!("{base}/{{id}}"))
            .app_data(kind)
            .route(web::get().to(resources::get))
            .route(web::put().to(resources::replace))
            .route(web::patch().to(resources::patch))
            .route(web::delete().to(resources::delete))
            .default_service(web::to(endpoints::method_not_allowed)),
    );
}

/// A resource with one route; other methods get a SCIM 405.
fn only(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path.to_owned())
        .route(route)
        .default_service(web::to(endpoints::method_not_allowed))
}

/// Every SCIM endpoint, relative to a base URL.
fn every_endpoint(cfg: &mut web::ServiceConfig) {
    cfg.configure(|cfg| resource_routes(cfg, ResourceKind::User))
        .configure(|cfg| resource_routes(cfg, ResourceKind::Group))
        .service(only("/.search", web::post().to(endpoints::search)))
        .service(only("/Bulk", web::post().to(endpoints::bulk)))
        .service(only(
            "/ServiceProviderConfig",
            web::get().to(endpoints::service_provider_config),
        ))
        .service(only(
            "/ResourceTypes",
            web::get().to(endpoints::resource_types),
        ))
        .service(only(
            "/ResourceTypes/{name}",
            web::get().to(endpoints::resource_type),
        ))
        .service(only("/Schemas", web::get().to(endpoints::schemas)))
        .service(only("/Schemas/{urn}", web::get().to(endpoints::schema)))
        .route("/Me", web::route().to(endpoints::me));
}

/// The first path segments of the shared base URL's endpoints (`/scim/v2/Users`, …).
/// Tenant slugs are lowercase and never one of these names in any case
/// (`roster_core::tenants::RESERVED_SLUGS`), so a path is read the same way with the shared URL
/// on or off.
const SHARED_ROOTS: [&str; 8] = [
    "Users",
    "Groups",
    ".search",
    "Bulk",
    "ServiceProviderConfig",
    "ResourceTypes",
    "Schemas",
    "Me",
];

/// `/scim/v2/{tenant}/…`, and `/scim/v2/…` itself where the token decides the tenant
/// (when `shared` is on; off, those paths are a SCIM 404 for everyone).
///
/// Both live in one scope: the shared endpoints are registered first, so `/scim/v2/Users`
/// is the shared endpoint and never the tenant `Users` (no slug can be that, see
/// [`SHARED_ROOTS`]); any other first segment is a tenant.
pub(crate) fn routes(cfg: &mut web::ServiceConfig, shared: bool) {
    let mut scope = web::scope("/scim/v2")
        .wrap(from_fn(record_test_calls))
        .wrap(NormalizePath::new(TrailingSlash::Trim));
    if shared {
        scope = scope.configure(every_endpoint);
    } else {
        for root in SHARED_ROOTS {
            scope = scope.service(
                web::resource([format!("/{root}"), format!("/{root}/{{rest:.*}}")])
                    .to(endpoints::not_found),
            );
        }
    }
    cfg.service(
        scope
            .service(
                web::scope("/{tenant}")
                    .configure(every_endpoint)
                    .default_service(web::to(endpoints::not_found)),
            )
            .default_service(web::to(endpoints::not_found)),
    );
}

/// The part of a SCIM path after its base URL (`/Users`), for either base URL.
fn after_base(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/scim/v2/") else {
        return "";
    };
    let first = rest.split('/').next().unwrap_or_default();
    if SHARED_ROOTS.contains(&first) {
        &path["/scim/v2".len()..]
    } else {
        rest.find('/').map(|at| &rest[at..]).unwrap_or_default()
    }
}

/// Records an identity provider's connection test that succeeded, so that the log and
/// the connection check show it (`roster_core::connection_log`). Which requests are tests
/// is decided from the request alone (`roster_core::idp::recognise_test_call`); the
/// authenticated context comes from `caller::ScimCaller`.
async fn record_test_calls(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let call = recognise_test_call(
        req.method().as_str(),
        after_base(req.path()),
        req.query_string(),
    );
    let res = next.call(req).await?;
    if let Some(call) = call
        && res.status().is_success()
    {
        let ctx = res.request().extensions().get::<RequestContext>().cloned();
        let state = res.request().app_data::<web::Data<AppState>>().cloned();
        if let (Some(ctx), Some(state)) = (ctx, state) {
            state.services.connection_log().tested(&ctx, &call).await;
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_after_either_base_url() {
        assert_eq!(after_base("/scim/v2/acme/Users"), "/Users");
        assert_eq!(after_base("/scim/v2/acme/Users/1"), "/Users/1");
        assert_eq!(after_base("/scim/v2/Users"), "/Users");
        assert_eq!(after_base("/scim/v2/Groups/2"), "/Groups/2");
        assert_eq!(
            after_base("/scim/v2/ServiceProviderConfig"),
            "/ServiceProviderConfig"
        );
        assert_eq!(after_base("/scim/v2/acme"), "");
        assert_eq!(after_base("/elsewhere"), "");
    }

    #[test]
    fn every_shared_root_is_a_reserved_slug() {
        for root in SHARED_ROOTS {
            assert!(roster_core::tenants::is_reserved_slug(root), "{root}");
        }
    }
}
