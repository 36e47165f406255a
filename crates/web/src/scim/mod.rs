//! The SCIM 2.0 endpoint of each tenant: `/scim/v2/{tenant}/…`.
//!
//! Every route authenticates with the tenant's bearer token ([`caller::ScimCaller`]),
//! then calls one function of `roster_core::provisioning` and maps its result
//! ([`respond`], [`error`]).

mod caller;
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

use crate::AppState;

use resources::{Groups, Users};

fn resource_routes<K: resources::Kind + 'static>(cfg: &mut web::ServiceConfig, base: &str) {
    cfg.service(
        web::resource(base.to_owned())
            .route(web::get().to(resources::list::<K>))
            .route(web::post().to(resources::create::<K>))
            .default_service(web::to(endpoints::method_not_allowed)),
    )
    .service(
        web::resource(format!("{base}/.search"))
            .route(web::post().to(resources::search::<K>))
            .default_service(web::to(endpoints::method_not_allowed)),
    )
    .service(
        web::resource(format!("{base}/{{id}}"))
            .route(web::get().to(resources::get::<K>))
            .route(web::put().to(resources::replace::<K>))
            .route(web::patch().to(resources::patch::<K>))
            .route(web::delete().to(resources::delete::<K>))
            .default_service(web::to(endpoints::method_not_allowed)),
    );
}

/// A resource with one route; other methods get a SCIM 405.
fn only(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path.to_owned())
        .route(route)
        .default_service(web::to(endpoints::method_not_allowed))
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2/{tenant}")
            .wrap(from_fn(record_test_calls))
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .configure(|cfg| resource_routes::<Users>(cfg, "/Users"))
            .configure(|cfg| resource_routes::<Groups>(cfg, "/Groups"))
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
            .route("/Me", web::route().to(endpoints::me))
            .default_service(web::to(endpoints::not_found)),
    );
}

/// Records an identity provider's connection test that succeeded, so that the log and
/// the connection check show it (`roster_core::connection_log`). Which requests are tests
/// is decided from the request alone (`roster_core::idp::recognise_test_call`); the
/// authenticated context comes from `caller::ScimCaller`.
async fn record_test_calls(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let after_tenant = req
        .path()
        .strip_prefix("/scim/v2/")
        .and_then(|rest| rest.find('/').map(|at| rest[at..].to_owned()))
        .unwrap_or_default();
    let call = recognise_test_call(req.method().as_str(), &after_tenant, req.query_string());
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
